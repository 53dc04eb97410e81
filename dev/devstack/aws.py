"""The S3 bucket, the SQS queues and the bucket's ObjectCreated notification, created idempotently.

Every step looks before it writes, so `up` can run any number of times.  The
notification in particular is only written when missing: writing it makes S3
send an `s3:TestEvent` message to the queue, which a re-run must not add.
"""

import json
from dataclasses import dataclass

import boto3

from .layout import (
    BUCKET,
    DEAD_LETTER_MAX_RECEIVE_COUNT,
    DEAD_LETTER_QUEUE,
    DUMMY_CREDENTIAL,
    QUEUE,
    QUEUE_VISIBILITY_TIMEOUT_SECS,
    REGION,
    SYNC_DEAD_LETTER_QUEUE,
    SYNC_QUEUE,
)

_OBJECT_CREATED = "s3:ObjectCreated:*"


@dataclass(frozen=True)
class Provisioned:
    bucket: str
    queue_url: str
    dead_letter_queue_url: str
    sync_queue_url: str


def clients(endpoint_url: str):
    session = boto3.session.Session(
        aws_access_key_id=DUMMY_CREDENTIAL,
        aws_secret_access_key=DUMMY_CREDENTIAL,
        region_name=REGION,
    )
    return session.client("s3", endpoint_url=endpoint_url), session.client("sqs", endpoint_url=endpoint_url)


def provision(endpoint_url: str) -> Provisioned:
    s3, sqs = clients(endpoint_url)
    if BUCKET not in {bucket["Name"] for bucket in s3.list_buckets().get("Buckets", [])}:
        s3.create_bucket(Bucket=BUCKET)

    queue_url, dead_letter_url = _queue_with_dead_letters(sqs, QUEUE, DEAD_LETTER_QUEUE)
    sync_queue_url, _ = _queue_with_dead_letters(sqs, SYNC_QUEUE, SYNC_DEAD_LETTER_QUEUE)

    queue_arn = _queue_arn(sqs, queue_url)
    configuration = s3.get_bucket_notification_configuration(Bucket=BUCKET)
    already = any(
        entry["QueueArn"] == queue_arn and _OBJECT_CREATED in entry["Events"]
        for entry in configuration.get("QueueConfigurations", [])
    )
    if not already:
        s3.put_bucket_notification_configuration(
            Bucket=BUCKET,
            NotificationConfiguration={"QueueConfigurations": [{"QueueArn": queue_arn, "Events": [_OBJECT_CREATED]}]},
        )
    return Provisioned(BUCKET, queue_url, dead_letter_url, sync_queue_url)


def _queue_with_dead_letters(sqs, name: str, dead_letter_name: str) -> tuple[str, str]:
    dead_letter_url = sqs.create_queue(QueueName=dead_letter_name)["QueueUrl"]
    queue_url = sqs.create_queue(QueueName=name)["QueueUrl"]
    # Attributes are set apart from creation: creating an existing queue with
    # different attributes fails, setting them converges.
    sqs.set_queue_attributes(
        QueueUrl=queue_url,
        Attributes={
            "VisibilityTimeout": str(QUEUE_VISIBILITY_TIMEOUT_SECS),
            "RedrivePolicy": json.dumps(
                {
                    "deadLetterTargetArn": _queue_arn(sqs, dead_letter_url),
                    "maxReceiveCount": str(DEAD_LETTER_MAX_RECEIVE_COUNT),
                }
            ),
        },
    )
    return queue_url, dead_letter_url


def _queue_arn(sqs, queue_url: str) -> str:
    return sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
