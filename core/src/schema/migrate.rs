//! Applies the migrations of [`MIGRATIONS`] once each, in order.
//!
//! Every statement is idempotent (`IF NOT EXISTS`), so a run that dies half
//! way is finished by the next one; a migration is recorded in
//! `schema_migrations` only after all its statements succeeded.

use clickhouse::{Client, Row};
use serde::Deserialize;

use super::migrations::{BOOTSTRAP, MIGRATIONS, Migration};
use super::render::render;
use crate::error::{Error, MigrationId, Result};
use crate::settings::Settings;

/// Where one migration stands in the target database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MigrationState {
    Pending,
    Applied { applied_at: String },
    /// Applied, but the statements it renders to today differ from those
    /// recorded: someone edited an applied migration or changed a setting
    /// (TTL, cluster) that only a new migration can apply.
    Drifted { applied_at: String },
}

pub struct Migrator {
    server: Client,
    settings: Settings,
}

#[derive(Debug, Row, Deserialize)]
struct AppliedRow {
    version: u32,
    checksum: String,
    applied_at: String,
}

impl Migrator {
    pub fn new(settings: &Settings) -> Self {
        Self { server: crate::clickhouse::server_client(&settings.clickhouse), settings: settings.clone() }
    }

    fn database(&self) -> &str {
        &self.settings.clickhouse.database
    }

    /// Every known migration with its state, without changing anything.
    pub async fn status(&self) -> Result<Vec<(MigrationId, MigrationState)>> {
        let applied = self.applied().await?;
        MIGRATIONS
            .iter()
            .map(|migration| {
                let rendered = render(migration, self.database(), &self.settings.schema)?;
                let state = match applied.iter().find(|row| row.version == migration.id.version) {
                    None => MigrationState::Pending,
                    Some(row) if row.checksum == rendered.checksum => {
                        MigrationState::Applied { applied_at: row.applied_at.clone() }
                    }
                    Some(row) => MigrationState::Drifted { applied_at: row.applied_at.clone() },
                };
                Ok((migration.id, state))
            })
            .collect()
    }

    /// Applies the pending migrations and returns them; a no-op when none are.
    pub async fn apply(&self) -> Result<Vec<MigrationId>> {
        self.run(&BOOTSTRAP).await?;
        let mut newly_applied = Vec::new();
        for (id, state) in self.status().await? {
            match state {
                MigrationState::Applied { .. } => {}
                MigrationState::Drifted { .. } => tracing::warn!(
                    migration = %id,
                    "applied migration differs from the current schema files or settings; \
                     it is not re-run: add a new migration for schema changes"
                ),
                MigrationState::Pending => {
                    let migration = MIGRATIONS.iter().find(|m| m.id.version == id.version).expect("listed by status");
                    let checksum = self.run(migration).await?;
                    self.record(id, &checksum).await?;
                    tracing::info!(migration = %id, "migration applied");
                    newly_applied.push(id);
                }
            }
        }
        Ok(newly_applied)
    }

    /// Executes every statement of `migration`; returns its checksum.
    async fn run(&self, migration: &Migration) -> Result<String> {
        let rendered = render(migration, self.database(), &self.settings.schema)?;
        for (index, statement) in rendered.statements.iter().enumerate() {
            self.server.query(statement).execute().await.map_err(|source| Error::Migration {
                migration: migration.id,
                statement: index + 1,
                source,
            })?;
        }
        Ok(rendered.checksum)
    }

    async fn record(&self, id: MigrationId, checksum: &str) -> Result<()> {
        self.server
            .query(
                "INSERT INTO {db:Identifier}.schema_migrations (version, name, checksum, applied_at) \
                 SELECT {version:UInt32}, {name:String}, {checksum:String}, now64(3)",
            )
            .param("db", self.database())
            .param("version", id.version)
            .param("name", id.name)
            .param("checksum", checksum)
            .execute()
            .await?;
        Ok(())
    }

    async fn applied(&self) -> Result<Vec<AppliedRow>> {
        let exists: u8 = self
            .server
            .query("SELECT count() > 0 FROM system.tables WHERE database = {db:String} AND name = 'schema_migrations'")
            .param("db", self.database())
            .fetch_one()
            .await?;
        if exists == 0 {
            return Ok(Vec::new());
        }
        Ok(self
            .server
            .query(
                "SELECT version, checksum, toString(applied_at) AS applied_at \
                 FROM {db:Identifier}.schema_migrations FINAL ORDER BY version",
            )
            .param("db", self.database())
            .fetch_all()
            .await?)
    }
}
