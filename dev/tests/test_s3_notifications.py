"""moto: the bucket tells the ingest queue about every object created in it."""

import json
import uuid
from urllib.parse import unquote_plus

import boto3
import pytest

DEADLINE_RECEIVES = 10


@pytest.fixture(scope="module")
def aws(stack):
    session = boto3.session.Session(
        aws_access_key_id=stack["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=stack["AWS_SECRET_ACCESS_KEY"],
        region_name=stack["AWS_REGION"],
    )
    endpoint = stack["AWS_ENDPOINT_URL"]
    return session.client("s3", endpoint_url=endpoint), session.client("sqs", endpoint_url=endpoint)


def object_created_keys(sqs, queue_url: str) -> list[str]:
    """Keys named by ObjectCreated events on the queue; each message is deleted once read."""
    keys = []
    for _ in range(DEADLINE_RECEIVES):
        messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get(
            "Messages", []
        )
        for message in messages:
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
            for record in json.loads(message["Body"]).get("Records", []):  # s3:TestEvent has none
                if record["eventName"].startswith("ObjectCreated:"):
                    # S3 event keys are URL-encoded, spaces as '+'.
                    keys.append(unquote_plus(record["s3"]["object"]["key"]))
        if keys:
            return keys
    return keys


def test_put_object_sends_an_object_created_message_with_its_key(aws, stack):
    s3, sqs = aws
    key = f"logs/2026/01/02/{uuid.uuid4().hex} part+1.jsonl.gz"
    s3.put_object(Bucket=stack["ADHOUSE_BUCKET"], Key=key, Body=b"{}\n")
    assert key in object_created_keys(sqs, stack["ADHOUSE_QUEUE_URL"])


def test_queue_has_the_ingest_timeout_and_a_dead_letter_queue(aws, stack):
    _, sqs = aws
    attributes = sqs.get_queue_attributes(QueueUrl=stack["ADHOUSE_QUEUE_URL"], AttributeNames=["All"])["Attributes"]
    dead_letter_arn = sqs.get_queue_attributes(QueueUrl=stack["ADHOUSE_DLQ_URL"], AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    assert attributes["VisibilityTimeout"] == "60"
    assert json.loads(attributes["RedrivePolicy"]) == {"deadLetterTargetArn": dead_letter_arn, "maxReceiveCount": 5}
