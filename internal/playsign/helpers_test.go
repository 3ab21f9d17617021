package playsign

import (
	"crypto"
	"crypto/sha1" //nolint:gosec // CloudFront's algorithm
)

const cryptoSHA1 = crypto.SHA1

func sha1Sum(b []byte) []byte { h := sha1.Sum(b); return h[:] } //nolint:gosec
