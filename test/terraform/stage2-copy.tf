# Stage 2: copy the captured image to another region (CopyImage is called in
# the destination region, with the source region named).

resource "aws_ami_copy" "copy" {
  provider          = aws.copy
  name              = "${var.name}-copy"
  source_ami_id     = aws_ami_from_instance.web.id
  source_ami_region = "us-east-1"
}

output "copy_id" {
  value = aws_ami_copy.copy.id
}
