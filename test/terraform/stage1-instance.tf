# Stage 1: find Kiln's minimal catalog image, launch an instance from it (with
# a key pair, a grown root volume and a data volume) that writes a marker file
# at first boot, and capture the instance as an image.

data "aws_ami" "base" {
  owners      = ["amazon"]
  most_recent = true
  filter {
    name   = "name"
    values = ["kiln-minimal-*"]
  }
}

# A public key only (the private half is not needed here): the instance gets it in root's authorized_keys.
resource "aws_key_pair" "deployer" {
  key_name   = "${var.name}-deployer"
  public_key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINb/VvGSL7Ds78yRMs4xTJ9kKj6hXIXH0TwexnjuNiS9 deployer@example"
}

resource "aws_instance" "web" {
  ami           = data.aws_ami.base.id
  instance_type = "t3.micro"
  key_name      = aws_key_pair.deployer.key_name
  user_data     = "#!/bin/sh\necho '${var.marker}' > /etc/kiln-terraform-marker\n"
  root_block_device {
    volume_size = 2
  }
  ebs_block_device {
    device_name = "/dev/sdf"
    volume_size = 1
    volume_type = "gp3"
  }
  tags = {
    Name = "${var.name}-web"
  }
}

resource "aws_ami_from_instance" "web" {
  name               = "${var.name}-web"
  source_instance_id = aws_instance.web.id
  tags = {
    Built = "terraform"
  }
}

output "base_ami_id" {
  value = data.aws_ami.base.id
}

output "instance_id" {
  value = aws_instance.web.id
}

output "instance_private_ip" {
  value = aws_instance.web.private_ip
}

output "image_id" {
  value = aws_ami_from_instance.web.id
}
