package s3src

import (
	"context"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// Range selects objects by the hour their key names (KeyTime): an object
// is listed when its hour overlaps [Since, Until). A zero bound is open.
// Objects whose key names no hour are always listed.
type Range struct {
	Since, Until time.Time
}

// Contains reports whether the hour starting at t meets the range.
func (r Range) Contains(t time.Time) bool { return r.overlaps(t, t.Add(time.Hour)) }

func (r Range) open() bool { return r.Since.IsZero() && r.Until.IsZero() }

// overlaps reports whether [from, to) meets the range.
func (r Range) overlaps(from, to time.Time) bool {
	return (r.Until.IsZero() || from.Before(r.Until)) && (r.Since.IsZero() || to.After(r.Since))
}

// Lister lists objects. Requests and Keys count its work (for tests and
// benchmarks).
type Lister struct {
	Client *s3.Client
	// Skip, if set, leaves out keys for which it returns true (the ledger's
	// own prefix when it lies under the listed one).
	Skip     func(key string) bool
	Requests int // ListObjectsV2 calls made
	Keys     int // keys and common prefixes received
}

// distPrefix is a CloudFront distribution's part of a standard log's key:
// after it come YYYY-MM-DD-HH.ID.gz, so keys sort by hour.
var distPrefix = regexp.MustCompile(`(^|/)[A-Z0-9]{6,20}\.$`)

// List returns the objects under s3://bucket/prefix in key order, except
// directory markers (keys ending in "/") and empty objects.
//
// With a range, it avoids listing what lies outside: it lists the prefix
// with "." as delimiter, which groups the keys of a CloudFront distribution
// by their common part (cf/E2QW.. or, for v2 partitions, .../2025/03/14/08/E2QW.);
// a group whose partitions lie outside the range is not listed at all, and
// within a group listing starts after the first hour wanted and stops after
// the last.
func (l *Lister) List(ctx context.Context, bucket, prefix string, rng Range) ([]Object, error) {
	var out []Object
	if rng.open() {
		err := l.list(ctx, bucket, prefix, "", "", func(o Object) bool {
			out = append(out, o)
			return true
		}, nil)
		return out, err
	}
	var groups []string
	err := l.list(ctx, bucket, prefix, ".", "", func(o Object) bool {
		if t, ok := KeyTime(o.Key); !ok || rng.overlaps(t, t.Add(time.Hour)) {
			out = append(out, o)
		}
		return true
	}, func(p string) {
		if from, to, ok := partitionRange(p[:strings.LastIndexByte(p, '/')+1]); ok && !rng.overlaps(from, to) {
			return // a partition outside the range
		}
		groups = append(groups, p)
	})
	if err != nil {
		return nil, err
	}
	for _, g := range groups {
		startAfter := ""
		sorted := distPrefix.MatchString(g)
		if sorted && !rng.Since.IsZero() {
			startAfter = g + rng.Since.UTC().Format("2006-01-02-15")
		}
		err := l.list(ctx, bucket, g, "", startAfter, func(o Object) bool {
			t, ok := KeyTime(o.Key)
			if !ok {
				out = append(out, o)
				return true
			}
			if sorted && !rng.Until.IsZero() && !t.Before(rng.Until) {
				return false // keys of this distribution sort by hour: the rest are later
			}
			if rng.overlaps(t, t.Add(time.Hour)) {
				out = append(out, o)
			}
			return true
		}, nil)
		if err != nil {
			return nil, err
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out, nil
}

// list pages through one listing; obj returns false to stop it.
func (l *Lister) list(ctx context.Context, bucket, prefix, delim, startAfter string, obj func(Object) bool, common func(string)) error {
	in := &s3.ListObjectsV2Input{Bucket: &bucket, Prefix: &prefix}
	if delim != "" {
		in.Delimiter = &delim
	}
	if startAfter != "" {
		in.StartAfter = &startAfter
	}
	p := s3.NewListObjectsV2Paginator(l.Client, in)
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		l.Requests++
		if err != nil {
			return fmt.Errorf("listing s3://%s/%s: %w", bucket, prefix, err)
		}
		for _, cp := range page.CommonPrefixes {
			l.Keys++
			if common != nil {
				common(aws.ToString(cp.Prefix))
			}
		}
		for _, o := range page.Contents {
			l.Keys++
			k := aws.ToString(o.Key)
			if strings.HasSuffix(k, "/") || aws.ToInt64(o.Size) == 0 || (l.Skip != nil && l.Skip(k)) {
				continue
			}
			if !obj(Object{Bucket: bucket, Key: k, ETag: strings.Trim(aws.ToString(o.ETag), `"`), Size: aws.ToInt64(o.Size)}) {
				return nil
			}
		}
	}
	return nil
}
