"""Starts and stops the local adhouse stack: ClickHouse HTTP on chDB, and S3 + SQS from moto."""
