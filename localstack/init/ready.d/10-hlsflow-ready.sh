#!/bin/sh
# LocalStack runs the scripts in ready.d once its services are up; when they
# have run, /_localstack/init/ready reports "completed": true. That is what
# the compose health check and `make localstack-up` wait for, so this hook
# makes "ready" mean "S3 answers a real request", not only "the port is open".
set -eu
awslocal s3api list-buckets >/dev/null
echo "hlsflow: LocalStack is ready"
