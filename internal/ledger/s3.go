package ledger

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/trackless/trackless/internal/s3src"
)

// DefaultClaimTTL is how long a claim lasts unless renewed.
const DefaultClaimTTL = 5 * time.Minute

// S3 is a ledger under an S3 prefix, shared by every run and Lambda
// invocation that names it:
//
//	PREFIX/inputs/HASH.json   the entry of an input (as in a state directory)
//	PREFIX/claims/HASH.json   who reads that input now, and until when
//
// A claim is created with a conditional write (If-None-Match: *), so two
// workers never both create it; it names its owner and an expiry, is renewed
// by its owner every third of its lifetime with a compare-and-swap write
// (If-Match on its ETag), and is taken over the same way once expired, so a
// crashed worker's inputs are read again by the next one. Entries are
// written only by the holder of the input's claim.
//
// Expiry compares the writer's clock with the reader's: clocks of machines
// that share a ledger must agree to well within the claim's lifetime.
type S3 struct {
	client *s3.Client
	bucket string
	prefix string // "" or ends with "/"
	ttl    time.Duration
	owner  string
	log    *slog.Logger
	now    func() time.Time

	mu    sync.Mutex
	held  map[string]string // key → ETag of our claim
	lost  map[string]bool   // claims taken over by another worker
	stop  chan struct{}
	wg    sync.WaitGroup
	start sync.Once
}

// claimBody is the content of a claim object.
type claimBody struct {
	Owner   string    `json:"owner"`
	Input   string    `json:"input"`
	Expires time.Time `json:"expires"`
}

// NewS3 returns the ledger under s3://bucket/prefix. ttl is the lifetime of
// a claim (DefaultClaimTTL when 0).
func NewS3(client *s3.Client, bucket, prefix string, ttl time.Duration, log *slog.Logger) *S3 {
	if prefix != "" && !strings.HasSuffix(prefix, "/") {
		prefix += "/"
	}
	if ttl <= 0 {
		ttl = DefaultClaimTTL
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	host, _ := os.Hostname()
	var rnd [4]byte
	rand.Read(rnd[:])
	return &S3{
		client: client, bucket: bucket, prefix: prefix, ttl: ttl, log: log, now: time.Now,
		owner: fmt.Sprintf("%s/%d/%s", host, os.Getpid(), hex.EncodeToString(rnd[:])),
		held:  map[string]string{}, lost: map[string]bool{}, stop: make(chan struct{}),
	}
}

// String is the ledger's location.
func (l *S3) String() string { return "s3://" + l.bucket + "/" + l.prefix }

// Owner names this worker in its claims.
func (l *S3) Owner() string { return l.owner }

func (l *S3) entryKey(key string) string { return l.prefix + "inputs/" + fileName(key) }
func (l *S3) claimKey(key string) string { return l.prefix + "claims/" + fileName(key) }

// Get returns the entry of key, or nil when there is none.
func (l *S3) Get(ctx context.Context, key string) (*Entry, error) {
	data, _, err := l.get(ctx, l.entryKey(key))
	if err != nil || data == nil {
		return nil, err
	}
	return decode(data, "s3://"+l.bucket+"/"+l.entryKey(key))
}

// Put replaces the entry of key. It fails when this worker's claim of key
// was taken over by another one (it was not renewed in time): both may then
// have sent the same hits, and the run must stop and say so.
func (l *S3) Put(ctx context.Context, key string, e *Entry) error {
	l.mu.Lock()
	lost := l.lost[key]
	l.mu.Unlock()
	if lost {
		return fmt.Errorf("ledger %s: the claim of %s was taken over by another worker before this one finished (raise --claim-ttl)", l, e.Name)
	}
	data, err := encode(e)
	if err != nil {
		return err
	}
	_, err = l.client.PutObject(ctx, &s3.PutObjectInput{
		Bucket: &l.bucket, Key: aws.String(l.entryKey(key)), Body: bytes.NewReader(data),
		ContentType: aws.String("application/json"),
	})
	if err != nil {
		return fmt.Errorf("ledger %s: writing the entry of %s: %w", l, e.Name, err)
	}
	return nil
}

// Claim takes key for this worker; see S3.
func (l *S3) Claim(ctx context.Context, key string) error {
	l.start.Do(func() {
		l.wg.Add(1)
		go l.renewLoop()
	})
	ck := l.claimKey(key)
	for attempt := 0; ; attempt++ {
		if attempt == 5 {
			return fmt.Errorf("ledger %s: claiming %s: too many concurrent changes, try again", l, key)
		}
		etag, err := l.putClaim(ctx, ck, key, nil)
		if err == nil {
			l.hold(key, etag)
			return nil
		}
		if !s3src.IsPreconditionFailed(err) && !s3src.IsConflict(err) {
			return fmt.Errorf("ledger %s: claiming %s: %w", l, key, err)
		}
		data, cur, err := l.get(ctx, ck)
		if err != nil {
			return fmt.Errorf("ledger %s: reading the claim of %s: %w", l, key, err)
		}
		if data == nil {
			continue // released meanwhile
		}
		var c claimBody
		if json.Unmarshal(data, &c) != nil {
			c = claimBody{} // unreadable: treated as expired
		}
		if c.Owner != l.owner && l.now().Before(c.Expires) {
			return &ClaimedError{Key: key, Owner: c.Owner, Until: c.Expires}
		}
		etag, err = l.putClaim(ctx, ck, key, &cur)
		if err == nil {
			if c.Owner != l.owner {
				l.log.Warn("took over an expired claim: its worker stopped without finishing", "input", key, "previous_owner", c.Owner, "expired", c.Expires)
			}
			l.hold(key, etag)
			return nil
		}
		if !s3src.IsPreconditionFailed(err) && !s3src.IsConflict(err) {
			return fmt.Errorf("ledger %s: claiming %s: %w", l, key, err)
		}
	}
}

func (l *S3) hold(key, etag string) {
	l.mu.Lock()
	l.held[key] = etag
	delete(l.lost, key)
	l.mu.Unlock()
}

// putClaim writes a claim of key expiring a TTL from now: created when
// ifMatch is nil, else replacing the claim whose ETag is *ifMatch.
func (l *S3) putClaim(ctx context.Context, ck, key string, ifMatch *string) (string, error) {
	body, _ := json.Marshal(claimBody{Owner: l.owner, Input: key, Expires: l.now().Add(l.ttl).UTC()})
	in := &s3.PutObjectInput{Bucket: &l.bucket, Key: &ck, Body: bytes.NewReader(body), ContentType: aws.String("application/json")}
	if ifMatch == nil {
		in.IfNoneMatch = aws.String("*")
	} else {
		in.IfMatch = ifMatch
	}
	out, err := l.client.PutObject(ctx, in)
	if err != nil {
		return "", err
	}
	return aws.ToString(out.ETag), nil
}

// Release deletes this worker's claim of key (only if it is still ours).
func (l *S3) Release(ctx context.Context, key string) error {
	l.mu.Lock()
	etag, ok := l.held[key]
	delete(l.held, key)
	delete(l.lost, key)
	l.mu.Unlock()
	if !ok {
		return nil
	}
	_, err := l.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &l.bucket, Key: aws.String(l.claimKey(key)), IfMatch: &etag})
	if err != nil && !s3src.IsPreconditionFailed(err) && !s3src.IsNotFound(err) {
		return fmt.Errorf("ledger %s: releasing the claim of %s: %w", l, key, err)
	}
	return nil
}

// Close stops renewing and releases every claim still held.
func (l *S3) Close() error {
	select {
	case <-l.stop:
		return nil
	default:
	}
	close(l.stop)
	l.wg.Wait()
	l.mu.Lock()
	keys := make([]string, 0, len(l.held))
	for k := range l.held {
		keys = append(keys, k)
	}
	l.mu.Unlock()
	var first error
	for _, k := range keys {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		if err := l.Release(ctx, k); err != nil && first == nil {
			first = err
		}
		cancel()
	}
	return first
}

// renewLoop renews the claims held every third of their lifetime.
func (l *S3) renewLoop() {
	defer l.wg.Done()
	t := time.NewTicker(l.ttl / 3)
	defer t.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-t.C:
		}
		l.renewAll()
	}
}

// renewAll renews every claim held, once.
func (l *S3) renewAll() {
	l.mu.Lock()
	held := make(map[string]string, len(l.held))
	for k, v := range l.held {
		held[k] = v
	}
	l.mu.Unlock()
	for key, etag := range held {
		ctx, cancel := context.WithTimeout(context.Background(), l.ttl/3)
		e := etag
		newTag, err := l.putClaim(ctx, l.claimKey(key), key, &e)
		cancel()
		l.mu.Lock()
		if cur, still := l.held[key]; still && cur == etag {
			switch {
			case err == nil:
				l.held[key] = newTag
			case s3src.IsPreconditionFailed(err):
				delete(l.held, key)
				l.lost[key] = true
				l.log.Error("the claim of an input was taken over by another worker: this one stops writing its progress", "input", key)
			default:
				l.log.Warn("cannot renew a claim; trying again", "input", key, "error", err)
			}
		}
		l.mu.Unlock()
	}
}

// get reads an object; data is nil when it does not exist.
func (l *S3) get(ctx context.Context, key string) (data []byte, etag string, err error) {
	out, err := l.client.GetObject(ctx, &s3.GetObjectInput{Bucket: &l.bucket, Key: &key})
	if err != nil {
		if s3src.IsNotFound(err) {
			return nil, "", nil
		}
		return nil, "", err
	}
	defer out.Body.Close()
	data, err = io.ReadAll(out.Body)
	if err != nil {
		return nil, "", err
	}
	return data, aws.ToString(out.ETag), nil
}
