# Stage 4: a second instance launched from the captured image, a data volume
# attached to it, a snapshot of that volume shared with another account, and
# an image registered from the captured image's root snapshot plus the data
# snapshot (aws_ami, RegisterImage). (The provider treats volumes attached to
# an instance that declares ebs_block_device as drift, so the attachment goes
# to this second instance.)

resource "aws_instance" "worker" {
  ami           = aws_ami_from_instance.web.id
  instance_type = "t3.nano"
  tags = {
    Name = "${var.name}-worker"
  }
}

resource "aws_ebs_volume" "data" {
  availability_zone = aws_instance.worker.availability_zone
  size              = 1
  type              = "gp3"
  tags = {
    Name = "${var.name}-data"
  }
}

resource "aws_volume_attachment" "data" {
  device_name = "/dev/sdg"
  volume_id   = aws_ebs_volume.data.id
  instance_id = aws_instance.worker.id
}

resource "aws_ebs_snapshot" "data" {
  volume_id   = aws_volume_attachment.data.volume_id
  description = "${var.name} data"
}

resource "aws_snapshot_create_volume_permission" "data" {
  snapshot_id = aws_ebs_snapshot.data.id
  account_id  = var.share_account
}

resource "aws_ami" "registered" {
  name                = "${var.name}-registered"
  root_device_name    = "/dev/xvda"
  virtualization_type = "hvm"
  ena_support         = true
  ebs_block_device {
    device_name = "/dev/xvda"
    snapshot_id = one([for m in aws_ami_from_instance.web.ebs_block_device : m.snapshot_id if m.device_name == "/dev/xvda"])
  }
  ebs_block_device {
    device_name = "/dev/sdh"
    snapshot_id = aws_ebs_snapshot.data.id
  }
}

output "worker_id" {
  value = aws_instance.worker.id
}

output "data_volume_id" {
  value = aws_ebs_volume.data.id
}

output "data_snapshot_id" {
  value = aws_ebs_snapshot.data.id
}

output "registered_id" {
  value = aws_ami.registered.id
}
