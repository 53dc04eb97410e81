"""`make demo`: links demo ad accounts on the fake platforms the way a
marketer does in the dashboard: connect, the platform's consent page
("Allow" as the demo user), the callback, then the account chooser.

    python dev/demo_link.py API_URL TOKEN PLATFORM ACCOUNT_ID [ACCOUNT_ID ...]
"""

import sys
from html.parser import HTMLParser
from urllib.parse import parse_qs, urljoin, urlsplit

import requests


class ConsentForm(HTMLParser):
    """The consent page's form: where it posts and the fields it sends."""

    def __init__(self) -> None:
        super().__init__()
        self.action = ""
        self.fields: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {name: value or "" for name, value in attrs}
        if tag == "form":
            self.action = attributes.get("action", "")
        elif tag == "input" and attributes.get("type") == "hidden":
            self.fields[attributes["name"]] = attributes.get("value", "")


def link(api: str, token: str, platform: str, account_ids: list[str]) -> None:
    session = requests.Session()
    auth = {"Authorization": f"Bearer {token}"}
    answer = session.post(f"{api}/api/v1/accounts/connect", json={"platform": platform}, headers=auth, timeout=30)
    answer.raise_for_status()
    authorize_url = answer.json()["authorize_url"]

    page = session.get(authorize_url, timeout=30)
    page.raise_for_status()
    form = ConsentForm()
    form.feed(page.text)
    consent = session.post(
        urljoin(authorize_url, form.action),
        data={**form.fields, "user": "demo", "decision": "allow"},
        allow_redirects=False,
        timeout=30,
    )
    callback = consent.headers["Location"]  # adhouse's /oauth/callback/<platform>
    landing = session.get(callback, allow_redirects=False, timeout=60)
    grant = parse_qs(urlsplit(landing.headers["Location"]).query)["grant"][0]

    answer = session.post(f"{api}/api/v1/accounts", json={"grant": grant, "account_ids": account_ids}, headers=auth, timeout=60)
    answer.raise_for_status()
    linked = ", ".join(f"{a['platform']} {a['id']}" for a in answer.json()["linked"])
    print(f"linked {linked}; its daily numbers are being fetched in the background")


if __name__ == "__main__":
    link(sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:])
