"""The image story through boto3 (Python's AWS SDK), pointed at Kiln only by
endpoint_url, region and keys: paginators, waiters and ClientError codes as a
Python user meets them. Run by test/boto3.test.ts, which passes the endpoint,
a second account's keys and a nonce in the environment; every check is an
assert, so a failure exits non-zero with the traceback."""

import base64
import os
import sys
import time

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

ENDPOINT = os.environ["KILN_ENDPOINT"]
NONCE = os.environ["KILN_NONCE"]
OTHER_ACCOUNT = os.environ["KILN_OTHER_ACCOUNT"]
OTHER_KEYS = os.environ["KILN_OTHER_KEYS"].split(":")
WAIT = {"Delay": 1, "MaxAttempts": 120}


def client(region, keys=("test", "test")):
    return boto3.client(
        "ec2", endpoint_url=ENDPOINT, region_name=region,
        aws_access_key_id=keys[0], aws_secret_access_key=keys[1],
        config=Config(retries={"max_attempts": 1}),
    )


def error_code(call, **kwargs):
    try:
        call(**kwargs)
    except ClientError as err:
        return err.response["Error"]["Code"]
    raise AssertionError(f"{call.__name__} succeeded; an error was expected")


def console(ec2, instance_id):
    # botocore decodes the base64 on the wire itself, as the aws-cli does.
    return ec2.get_console_output(InstanceId=instance_id, Latest=True).get("Output", "")


def wait_for_console(ec2, instance_id, text):
    for _ in range(120):
        if text in console(ec2, instance_id):
            return
        time.sleep(0.5)
    raise AssertionError(f"{text!r} never reached {instance_id}'s console:\n{console(ec2, instance_id)}")


def launch(ec2, image_id, script):
    r = ec2.run_instances(ImageId=image_id, InstanceType="t3.micro", MinCount=1, MaxCount=1, UserData=script)
    instance_id = r["Instances"][0]["InstanceId"]
    ec2.get_waiter("instance_running").wait(InstanceIds=[instance_id], WaiterConfig=WAIT)
    return instance_id


def main():
    east, west = client("us-east-1"), client("us-west-2")
    other = client("us-east-1", OTHER_KEYS)

    # The catalog image, found the way Packer's source_ami_filter finds one.
    pages = east.get_paginator("describe_images").paginate(
        Owners=["amazon"], Filters=[{"Name": "name", "Values": ["kiln-minimal-*"]}])
    images = [i for page in pages for i in page["Images"]]
    base = max(images, key=lambda i: i["CreationDate"])
    assert base["ImageOwnerAlias"] == "amazon" and base["Public"] is True, base

    first = launch(east, base["ImageId"], f"#!/bin/sh\necho 'baked {NONCE}' > /etc/motd\necho setup-done-{NONCE}\n")
    wait_for_console(east, first, f"setup-done-{NONCE}")

    image_id = east.create_image(InstanceId=first, Name=f"py-{NONCE}", Description="made by boto3",
                                 TagSpecifications=[{"ResourceType": "image", "Tags": [{"Key": "by", "Value": "boto3"}]}])["ImageId"]
    east.get_waiter("image_available").wait(ImageIds=[image_id], WaiterConfig=WAIT)
    image = east.describe_images(ImageIds=[image_id])["Images"][0]
    assert image["SourceInstanceId"] == first and image["Tags"] == [{"Key": "by", "Value": "boto3"}], image
    root_snap = image["BlockDeviceMappings"][0]["Ebs"]["SnapshotId"]
    east.get_waiter("snapshot_completed").wait(SnapshotIds=[root_snap], WaiterConfig=WAIT)

    # A second instance from the capture holds what the first one wrote.
    second = launch(east, image_id, "#!/bin/sh\necho \"motd: $(cat /etc/motd)\"\n")
    wait_for_console(east, second, f"motd: baked {NONCE}")

    # Private until shared: the other account cannot see it, then can.
    assert error_code(other.describe_images, ImageIds=[image_id]) == "InvalidAMIID.NotFound"
    east.modify_image_attribute(ImageId=image_id, LaunchPermission={"Add": [{"UserId": OTHER_ACCOUNT}]})
    shared = other.describe_images(ExecutableUsers=["self"])["Images"]
    assert [i["ImageId"] for i in shared] == [image_id], shared
    perms = east.describe_image_attribute(ImageId=image_id, Attribute="launchPermission")["LaunchPermissions"]
    assert perms == [{"UserId": OTHER_ACCOUNT}], perms

    # Copy to another region; the copy names its source.
    copy_id = west.copy_image(SourceImageId=image_id, SourceRegion="us-east-1", Name=f"py-{NONCE}-copy")["ImageId"]
    west.get_waiter("image_available").wait(ImageIds=[copy_id], WaiterConfig=WAIT)
    copy = west.describe_images(ImageIds=[copy_id])["Images"][0]
    assert (copy["SourceImageId"], copy["SourceImageRegion"]) == (image_id, "us-east-1"), copy

    # Retire: terminate, deregister with its snapshots, and the id is gone.
    east.terminate_instances(InstanceIds=[first, second])
    east.get_waiter("instance_terminated").wait(InstanceIds=[first, second], WaiterConfig=WAIT)
    result = east.deregister_image(ImageId=image_id, DeleteAssociatedSnapshots=True)
    assert [(r["SnapshotId"], r["ReturnCode"]) for r in result["DeleteSnapshotResults"]] == [(root_snap, "success")], result
    assert error_code(east.run_instances, ImageId=image_id, MinCount=1, MaxCount=1) in ("InvalidAMIID.Unavailable", "InvalidAMIID.NotFound")
    assert error_code(east.describe_snapshots, SnapshotIds=[root_snap]) == "InvalidSnapshot.NotFound"
    west.deregister_image(ImageId=copy_id, DeleteAssociatedSnapshots=True)
    print(f"boto3 story done {NONCE}")


if __name__ == "__main__":
    sys.exit(main())
