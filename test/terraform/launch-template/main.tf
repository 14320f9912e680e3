# Kiln's launch-template story with Terraform's AWS provider, unchanged but
# for its endpoints: a launch template naming an image, and an instance
# launched from the template's latest version. test/terraform.test.ts applies
# it with one image, then with another (a new template version, made the
# default; the instance is replaced by one of the new version), then destroys
# it, against an in-process Kiln on 127.0.0.1. The provider and its variables
# (endpoint, name) are ../providers.tf's, copied beside this file.

variable "image_id" {
  type        = string
  description = "The image the template's current version launches"
}

resource "aws_launch_template" "web" {
  name                   = "${var.name}-web"
  description            = "web servers"
  image_id               = var.image_id
  instance_type          = "t3.micro"
  update_default_version = true

  metadata_options {
    http_tokens                 = "required"
    http_put_response_hop_limit = 2
  }

  block_device_mappings {
    device_name = "/dev/sdf"
    ebs {
      volume_size = 1
      volume_type = "gp3"
    }
  }

  tag_specifications {
    resource_type = "volume"
    tags = {
      Role = "web"
    }
  }

  tags = {
    Team = "platform"
  }
}

resource "aws_instance" "web" {
  launch_template {
    id      = aws_launch_template.web.id
    version = aws_launch_template.web.latest_version
  }
  tags = {
    Name = "${var.name}-web"
  }
}

output "template_id" {
  value = aws_launch_template.web.id
}

output "latest_version" {
  value = aws_launch_template.web.latest_version
}

output "instance_id" {
  value = aws_instance.web.id
}
