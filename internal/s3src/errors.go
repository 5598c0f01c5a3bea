package s3src

import (
	"errors"

	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// isStatus reports whether err is an S3 answer with HTTP status code, by
// its status or by its error code (S3-compatible servers differ).
func isStatus(err error, code int) bool {
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) && re.HTTPStatusCode() == code {
		return true
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch ae.ErrorCode() {
		case "NoSuchKey", "NotFound":
			return code == 404
		case "PreconditionFailed":
			return code == 412
		case "ConditionalRequestConflict":
			return code == 409
		}
	}
	return false
}

// IsNotFound reports whether err says that an S3 object does not exist.
func IsNotFound(err error) bool { return isStatus(err, 404) }

// IsPreconditionFailed reports whether err is S3's answer to a conditional
// request whose condition does not hold (412).
func IsPreconditionFailed(err error) bool { return isStatus(err, 412) }

// IsConflict reports whether err is S3's answer to a conditional write that
// raced another one (409 ConditionalRequestConflict): try again.
func IsConflict(err error) bool { return isStatus(err, 409) }
