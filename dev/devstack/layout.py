"""Where the stack lives on disk and on loopback, with the environment overrides."""

import os
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
DEV_DIR = REPO_ROOT / "dev"
STATE_DIR = REPO_ROOT / ".dev"

BUCKET = "adhouse-logs"
QUEUE = "adhouse-ingest"
DEAD_LETTER_QUEUE = "adhouse-ingest-dlq"
SYNC_QUEUE = "adhouse-sync"
SYNC_DEAD_LETTER_QUEUE = "adhouse-sync-dlq"
QUEUE_VISIBILITY_TIMEOUT_SECS = 60
DEAD_LETTER_MAX_RECEIVE_COUNT = 5
REGION = "us-east-1"
# moto accepts any credentials; these only have to be present.
DUMMY_CREDENTIAL = "test"


@dataclass(frozen=True)
class Layout:
    host: str
    clickhouse_port: int
    aws_port: int
    platforms_port: int
    data_dir: Path
    logs_dir: Path
    env_file: Path

    @property
    def clickhouse_url(self) -> str:
        return f"http://{self.host}:{self.clickhouse_port}"

    @property
    def aws_endpoint_url(self) -> str:
        return f"http://{self.host}:{self.aws_port}"

    @property
    def platforms_url(self) -> str:
        return f"http://{self.host}:{self.platforms_port}"

    def pid_file(self, service: str) -> Path:
        return STATE_DIR / f"{service}.pid"


def layout_from_env() -> Layout:
    return Layout(
        host="127.0.0.1",
        clickhouse_port=int(os.environ.get("ADHOUSE_DEV_CLICKHOUSE_PORT", "18123")),
        aws_port=int(os.environ.get("ADHOUSE_DEV_AWS_PORT", "14566")),
        platforms_port=int(os.environ.get("ADHOUSE_DEV_PLATFORMS_PORT", "14580")),
        data_dir=Path(os.environ.get("ADHOUSE_DEV_DATA", STATE_DIR / "clickhouse")).resolve(),
        logs_dir=STATE_DIR / "logs",
        env_file=STATE_DIR / "env",
    )
