# Kiln's Auto Scaling story with Terraform's AWS provider, unchanged but for
# its endpoints: a launch template naming an image, and a group of 2 from its
# latest version with an instance_refresh block. test/terraform.test.ts
# applies it with one image, then with another (a new template version: the
# provider starts an instance refresh, and the group rolls onto the new image),
# then destroys it, against an in-process Kiln on 127.0.0.1. The provider and
# its variables (endpoint, name) are ../providers.tf's, copied beside this file.

variable "image_id" {
  type        = string
  description = "The image the template's current version launches"
}

variable "desired_capacity" {
  type    = number
  default = 2
}

resource "aws_launch_template" "web" {
  name                   = "${var.name}-asg"
  image_id               = var.image_id
  instance_type          = "t3.micro"
  update_default_version = true
}

resource "aws_autoscaling_group" "web" {
  name                      = "${var.name}-web"
  min_size                  = 1
  max_size                  = 4
  desired_capacity          = var.desired_capacity
  availability_zones        = ["us-east-1a", "us-east-1b"]
  health_check_type         = "EC2"
  health_check_grace_period = 0

  launch_template {
    id      = aws_launch_template.web.id
    version = aws_launch_template.web.latest_version
  }

  instance_refresh {
    strategy = "Rolling"
    preferences {
      min_healthy_percentage = 50
      instance_warmup        = 0
    }
  }

  tag {
    key                 = "Team"
    value               = "platform"
    propagate_at_launch = true
  }
}

output "template_id" {
  value = aws_launch_template.web.id
}

output "group_name" {
  value = aws_autoscaling_group.web.name
}

output "group_arn" {
  value = aws_autoscaling_group.web.arn
}
