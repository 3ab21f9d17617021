package playsign

import _ "embed"

// FunctionJS is the CloudFront Function that checks path tokens on AWS
// (infra deploys it on /p/*); its tests run it under Node against this
// package's tokens.
//
//go:embed playbacktoken.js
var FunctionJS string
