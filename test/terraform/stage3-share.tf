# Stage 3: share the captured image with another account.

resource "aws_ami_launch_permission" "share" {
  image_id   = aws_ami_from_instance.web.id
  account_id = var.share_account
}
