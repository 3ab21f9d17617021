package localcloud

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/hlsflow/hlsflow/internal/localcloud/sigv4"
)

// Account is the account id in the ARNs the local cloud makes.
const Account = "000000000000"

// SecretARN is the ARN under which Config.Secrets serves name.
func SecretARN(region, name string) string {
	return "arn:aws:secretsmanager:" + region + ":" + Account + ":secret:" + name
}

// secretsHandler is Secrets Manager's GetSecretValue for Config.Secrets,
// by name or ARN, so functions that read their secrets on AWS (the API's
// token, the stream-key secret) read them here the same way. Requests are
// signed (SigV4, service "secretsmanager") with the cloud's credentials.
type secretsHandler struct {
	secrets                      map[string]string
	accessKey, secretKey, region string
}

func (h *secretsHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 64<<10))
	if err != nil {
		secretsError(w, http.StatusBadRequest, "InvalidRequestException", "could not read the request")
		return
	}
	if _, err := sigv4.Verify(r, body, h.accessKey, h.secretKey, h.region, time.Now()); err != nil {
		code := "InvalidSignatureException"
		if errors.Is(err, sigv4.ErrUnknownKey) {
			code = "UnrecognizedClientException"
		}
		secretsError(w, http.StatusBadRequest, code, "the request is not signed with this cloud's credentials")
		return
	}
	if r.Method != http.MethodPost || r.Header.Get("X-Amz-Target") != "secretsmanager.GetSecretValue" {
		secretsError(w, http.StatusBadRequest, "UnknownOperationException", "only GetSecretValue is served here")
		return
	}
	var in struct{ SecretId string }
	if err := json.Unmarshal(body, &in); err != nil || in.SecretId == "" {
		secretsError(w, http.StatusBadRequest, "InvalidParameterException", "SecretId is required")
		return
	}
	name := in.SecretId
	if n, ok := strings.CutPrefix(name, SecretARN(h.region, "")); ok {
		name = n
	}
	v, ok := h.secrets[name]
	if !ok {
		secretsError(w, http.StatusBadRequest, "ResourceNotFoundException", "Secrets Manager can't find the specified secret.")
		return
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	json.NewEncoder(w).Encode(map[string]any{
		"ARN": SecretARN(h.region, name), "Name": name, "SecretString": v,
		"VersionId": "local", "VersionStages": []string{"AWSCURRENT"}, "CreatedDate": 0,
	})
}

// secretsError answers as Secrets Manager's JSON protocol does.
func secretsError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"__type": code, "message": msg})
}
