//! The built dashboard, served from `api.static_dir` at `/`. A path without
//! a file extension that matches no file gets `index.html`, so client-side
//! routes survive a reload.

use std::path::{Path, PathBuf};

use actix_web::http::Method;
use actix_web::{HttpRequest, HttpResponse, web};

use crate::error::{ApiError, Result};
use crate::state::AppState;

pub async fn serve(request: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse> {
    let path = request.path();
    let not_found = || ApiError::NotFound(format!("no route or file at {path}"));
    if path.starts_with("/api/") {
        return Err(not_found());
    }
    if !(request.method() == Method::GET || request.method() == Method::HEAD) {
        return Err(ApiError::MethodNotAllowed { method: request.method().to_string(), allow: "GET, HEAD".to_owned() });
    }
    let relative = relative_path(path).ok_or_else(not_found)?;
    let mut file = state.static_dir.join(&relative);
    if relative.as_os_str().is_empty() || file.is_dir() {
        file = file.join("index.html");
    } else if !file.is_file() && relative.extension().is_none() {
        file = state.static_dir.join("index.html");
    }
    let body = tokio::fs::read(&file).await.map_err(|_| not_found())?;
    Ok(HttpResponse::Ok()
        .content_type(content_type(&file))
        .insert_header(("Cache-Control", cache_control(&state.static_dir, &file)))
        .body(body))
}

/// The URL path as a relative path of plain names; `..`, hidden names and
/// backslashes are refused, so nothing outside `static_dir` can be reached.
fn relative_path(url_path: &str) -> Option<PathBuf> {
    let mut relative = PathBuf::new();
    for segment in url_path.split('/').filter(|segment| !segment.is_empty()) {
        if segment.starts_with('.') || segment.contains('\\') || segment.contains('\0') {
            return None;
        }
        relative.push(segment);
    }
    Some(relative)
}

/// Bundlers put content-hashed files under `assets/`: they never change, so
/// browsers keep them for a year. Everything else is revalidated, so a new
/// deployment shows at the next load.
fn cache_control(root: &Path, file: &Path) -> &'static str {
    if file.strip_prefix(root).is_ok_and(|relative| relative.starts_with("assets")) {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    }
}

fn content_type(file: &Path) -> &'static str {
    match file.extension().and_then(|extension| extension.to_str()).unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" | "map" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "webp" => "image/webp",
        "ico" => "image/x-icon",
        "woff2" => "font/woff2",
        "woff" => "font/woff",
        "txt" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_leaving_the_static_directory_are_refused() {
        for bad in ["/../etc/passwd", "/a/../../b", "/.env", "/a\\..\\b"] {
            assert_eq!(relative_path(bad), None, "{bad}");
        }
        assert_eq!(relative_path("/assets/app-1a2b.js"), Some(PathBuf::from("assets/app-1a2b.js")));
        assert_eq!(relative_path("/"), Some(PathBuf::new()));
    }
}
