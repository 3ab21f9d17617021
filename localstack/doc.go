// Package localstack holds no code: it is the home of the LocalStack setup
// (docker-compose.yml, init hooks, localstack.sh behind `make
// localstack-*`) and of the tests that check it on a machine without
// Docker: the compose file resolves, cdklocal synthesises the `local=true`
// stack, and each make target fails with one clear line when LocalStack,
// Docker or the auth token is missing. See README.md.
package localstack
