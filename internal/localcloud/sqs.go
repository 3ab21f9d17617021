package localcloud

import (
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/hlsflow/hlsflow/internal/localcloud/sigv4"
)

// QueueURL is the URL of the queue name that Config.Queues serves, as
// SQS spells its queues' URLs.
func QueueURL(region, name string) string {
	return "https://sqs." + region + ".amazonaws.com/" + Account + "/" + name
}

// maxMessage is SQS's largest message body.
const maxMessage = 256 << 10

// sqsHandler is SQS's SendMessage (JSON protocol) for Config.Queues, so
// functions that queue work on AWS (the webhook deliveries) queue it here
// the same way. A message is handed to its queue's function, not kept:
// what receives it here reads its work from S3. Requests are signed
// (SigV4, service "sqs") with the cloud's credentials.
type sqsHandler struct {
	queues                       map[string]func(body string) // by URL
	accessKey, secretKey, region string
}

func newSQSHandler(queues map[string]func(string), accessKey, secretKey, region string) *sqsHandler {
	h := &sqsHandler{queues: map[string]func(string){}, accessKey: accessKey, secretKey: secretKey, region: region}
	for name, fn := range queues {
		h.queues[QueueURL(region, name)] = fn
	}
	return h
}

func (h *sqsHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 2*maxMessage))
	if err != nil {
		sqsError(w, "InvalidParameterValue", "could not read the request")
		return
	}
	if _, err := sigv4.Verify(r, body, h.accessKey, h.secretKey, h.region, time.Now()); err != nil {
		code := "InvalidSecurity"
		if errors.Is(err, sigv4.ErrUnknownKey) {
			code = "InvalidClientTokenId"
		}
		sqsError(w, code, "the request is not signed with this cloud's credentials")
		return
	}
	if r.Method != http.MethodPost || r.Header.Get("X-Amz-Target") != "AmazonSQS.SendMessage" {
		sqsError(w, "UnsupportedOperation", "only SendMessage is served here")
		return
	}
	var in struct{ QueueUrl, MessageBody string }
	if err := json.Unmarshal(body, &in); err != nil || in.QueueUrl == "" || in.MessageBody == "" {
		sqsError(w, "InvalidParameterValue", "QueueUrl and MessageBody are required")
		return
	}
	if len(in.MessageBody) > maxMessage {
		sqsError(w, "InvalidParameterValue", "the message is longer than 262144 bytes")
		return
	}
	fn, ok := h.queues[in.QueueUrl]
	if !ok {
		sqsError(w, "QueueDoesNotExist", "The specified queue does not exist.")
		return
	}
	fn(in.MessageBody)
	sum := md5.Sum([]byte(in.MessageBody)) // the SDK checks it
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	json.NewEncoder(w).Encode(map[string]string{"MessageId": randomHex(16), "MD5OfMessageBody": hex.EncodeToString(sum[:])})
}

// sqsError answers as SQS's JSON protocol does.
func sqsError(w http.ResponseWriter, code, msg string) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	w.Header().Set("X-Amzn-Query-Error", code+";Sender")
	w.WriteHeader(http.StatusBadRequest)
	json.NewEncoder(w).Encode(map[string]string{"__type": "com.amazonaws.sqs#" + strings.TrimPrefix(code, "AWS.SimpleQueueService."), "message": msg})
}
