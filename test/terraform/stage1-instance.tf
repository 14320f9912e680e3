# Stage 1: find Kiln's minimal catalog image, launch an instance from it that
# writes a marker file at first boot, and capture the instance as an image.

data "aws_ami" "base" {
  owners      = ["amazon"]
  most_recent = true
  filter {
    name   = "name"
    values = ["kiln-minimal-*"]
  }
}

resource "aws_instance" "web" {
  ami           = data.aws_ami.base.id
  instance_type = "t3.micro"
  user_data     = "#!/bin/sh\necho '${var.marker}' > /etc/kiln-terraform-marker\n"
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
