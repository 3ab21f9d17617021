package main

import (
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudfront"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssecretsmanager"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/hlsflow/hlsflow/internal/lambdaspec"
	"github.com/hlsflow/hlsflow/internal/playsign"
)

// tokenPrefix is where path-token URLs live: /p/{token}/vod/{id}/….
const tokenPrefix = "/p/"

// addTokenBehaviours serves /p/* (path-token grants, internal/playsign)
// through the PlaybackToken function, which checks the token and strips
// it before the cache: every token shares one cached copy, and the cache
// policies need forward no query string, header or cookie. These
// behaviours have no trusted key group (the function is the check);
// playlists, segments and the rest keep their own cache policies.
func addTokenBehaviours(s constructs.Construct, d *Delivery, origin awscloudfront.IOrigin, media func(awscloudfront.CachePolicy, bool) *awscloudfront.AddBehaviorOptions) {
	// The token keys, by key id. The stack creates the store empty: the
	// operator puts the API's current key in it (README.md), so no secret
	// is in the template, and keys rotate without a deploy.
	d.TokenKeys = awscloudfront.NewKeyValueStore(s, jsii.String("PlaybackTokenKeys"), &awscloudfront.KeyValueStoreProps{
		Comment: jsii.String("hlsflow playback token keys, by key id"),
	})
	d.PlaybackToken = awscloudfront.NewFunction(s, jsii.String("PlaybackToken"), &awscloudfront.FunctionProps{
		Comment:       jsii.String("hlsflow /p/*: check the playback token, then strip it"),
		Code:          awscloudfront.FunctionCode_FromInline(jsii.String(playsign.FunctionJS)),
		Runtime:       awscloudfront.FunctionRuntime_JS_2_0(),
		KeyValueStore: d.TokenKeys,
	})
	tokenMedia := func(policy awscloudfront.CachePolicy, compress bool) *awscloudfront.AddBehaviorOptions {
		o := media(policy, compress)
		o.TrustedKeyGroups = nil
		o.FunctionAssociations = &[]*awscloudfront.FunctionAssociation{{
			Function: d.PlaybackToken, EventType: awscloudfront.FunctionEventType_VIEWER_REQUEST,
		}}
		return o
	}
	d.Distribution.AddBehavior(jsii.String(tokenPrefix+"*.m3u8"), origin, tokenMedia(d.Playlists, true))
	for _, p := range segmentPatterns {
		d.Distribution.AddBehavior(jsii.String(tokenPrefix+p), origin, tokenMedia(d.Segments, false))
	}
	d.Distribution.AddBehavior(jsii.String(tokenPrefix+"*"), origin, tokenMedia(d.Objects, true))
}

// PlaybackSecrets are what the API signs grants with on AWS: the private
// key of the CloudFront key pair (the operator puts the PEM in; the stack
// knows only the public key) and the current token key, generated as
// {"kid": "k1", "key": …}. Only their ARNs reach the function.
type PlaybackSecrets struct {
	SigningKey, TokenKey awssecretsmanager.Secret
}

func newPlaybackSecrets(s constructs.Construct) *PlaybackSecrets {
	return &PlaybackSecrets{
		SigningKey: awssecretsmanager.NewSecret(s, jsii.String("PlaybackSigningKey"), &awssecretsmanager.SecretProps{
			Description: jsii.String("hlsflow signed playback: the PEM private key of the CloudFront key pair (put it in after the first deploy)"),
		}),
		TokenKey: awssecretsmanager.NewSecret(s, jsii.String("PlaybackTokenKey"), &awssecretsmanager.SecretProps{
			Description: jsii.String("hlsflow signed playback: the current path-token key; copy it to the PlaybackTokenKeys key value store under its kid"),
			GenerateSecretString: &awssecretsmanager.SecretStringGenerator{
				SecretStringTemplate: jsii.String(`{"kid":"k1"}`),
				GenerateStringKey:    jsii.String("key"),
				PasswordLength:       jsii.Number(64),
				ExcludePunctuation:   jsii.Bool(true),
			},
		}),
	}
}

// grantPlaybackSigning gives the API what it signs grants with: the two
// secrets (read access; only their ARNs in its environment) and the ID
// CloudFront gave the public key, which signed URLs and cookies name.
func grantPlaybackSigning(a *API, d *Delivery) *PlaybackSecrets {
	ps := newPlaybackSecrets(a.Function)
	for _, e := range []struct {
		env string
		sec awssecretsmanager.Secret
	}{{lambdaspec.PlaybackKeyARN, ps.SigningKey}, {lambdaspec.PlaybackTokenARN, ps.TokenKey}} {
		env, sec := e.env, e.sec
		sec.GrantRead(a.Function, nil)
		a.Function.AddEnvironment(jsii.String(env), sec.SecretArn(), nil)
		nagSuppress(sec, nagRule{id: "AwsSolutions-SMG4", reason: "rotated by the operator (README.md, Signed playback): the key pair with CloudFront's public key, the token key with the key value store"})
	}
	a.Function.AddEnvironment(jsii.String(lambdaspec.PlaybackKeyPairID), d.PublicKey.PublicKeyId(), nil)
	return ps
}
