"""A moto S3 server on loopback for the S3 tests, with SigV4 checked.

moto checks signatures only once IAM authentication is on (INITIAL_NO_AUTH_ACTION_COUNT): the
first actions below run unauthenticated to make a user with an access key and a policy allowing
s3:*, then every request must be signed with that key. Prints one JSON line
{"endpoint", "access_key", "secret_key", "bucket"} and serves until stdin closes.
"""

import json
import os
import sys

# CreateUser, CreateAccessKey, CreatePolicy, AttachUserPolicy run before authentication starts.
os.environ["INITIAL_NO_AUTH_ACTION_COUNT"] = "4"

import boto3  # noqa: E402  (moto[server] brings it)
from moto.server import ThreadedMotoServer  # noqa: E402

server = ThreadedMotoServer(ip_address="127.0.0.1", port=0)
server.start()
host, port = server.get_host_and_port()
endpoint = f"http://{host}:{port}"

iam = boto3.client("iam", endpoint_url=endpoint, region_name="us-east-1",
                   aws_access_key_id="bootstrap", aws_secret_access_key="bootstrap")
iam.create_user(UserName="lumenfall-test")
key = iam.create_access_key(UserName="lumenfall-test")["AccessKey"]
policy = iam.create_policy(PolicyName="s3-all", PolicyDocument=json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}))
iam.attach_user_policy(UserName="lumenfall-test", PolicyArn=policy["Policy"]["Arn"])

s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                  aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"])
s3.create_bucket(Bucket="lumenfall-test")

print(json.dumps({"endpoint": endpoint, "access_key": key["AccessKeyId"],
                  "secret_key": key["SecretAccessKey"], "bucket": "lumenfall-test"}), flush=True)
sys.stdin.read()
server.stop()
