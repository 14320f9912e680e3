# Kiln's Terraform story: the AWS provider, unchanged, pointed at Kiln.
# test/terraform.test.ts copies these files into a temporary directory and runs
# init (from the local provider mirror), apply, plan and destroy against an
# in-process Kiln on 127.0.0.1. Stage files:
#   stage1-instance.tf  data aws_ami, aws_key_pair, aws_instance (root and EBS block devices), aws_ami_from_instance
#   stage2-copy.tf      aws_ami_copy to another region
#   stage3-share.tf     aws_ami_launch_permission to another account
#   stage4-volumes.tf   aws_ebs_volume, aws_volume_attachment, aws_ebs_snapshot,
#                       aws_snapshot_create_volume_permission, aws_ami (RegisterImage)

terraform {
  required_providers {
    aws = { source = "hashicorp/aws" }
  }
}

variable "endpoint" {
  type        = string
  description = "Kiln's EC2 endpoint, http://127.0.0.1:PORT"
}

variable "name" {
  type        = string
  description = "Prefix of the image names, unique per run"
}

variable "marker" {
  type        = string
  description = "Written into the instance by its user data; the test finds it in the captured image"
}

variable "copy_region" {
  type    = string
  default = "us-west-2"
}

variable "share_account" {
  type    = string
  default = "111122223333"
}

provider "aws" {
  region                      = "us-east-1"
  access_key                  = "test"
  secret_key                  = "test"
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
  skip_region_validation      = true
  endpoints {
    ec2         = var.endpoint
    sts         = var.endpoint
    autoscaling = var.endpoint
  }
}

provider "aws" {
  alias                       = "copy"
  region                      = var.copy_region
  access_key                  = "test"
  secret_key                  = "test"
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
  skip_region_validation      = true
  endpoints {
    ec2 = var.endpoint
    sts = var.endpoint
  }
}
