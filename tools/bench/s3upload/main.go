// Command s3upload creates a bucket on an S3-compatible server and uploads
// files under a prefix, keeping their names: tools/bench/s3.sh uses it to
// fill a local versitygw. Credentials come from the AWS environment.
//
//	s3upload -endpoint http://127.0.0.1:7070 -bucket bench -prefix cf/ FILE...
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/trackless/trackless/internal/s3src"
)

func main() {
	endpoint := flag.String("endpoint", "", "S3 endpoint URL")
	bucket := flag.String("bucket", "bench", "bucket (created if needed)")
	prefix := flag.String("prefix", "", "key prefix")
	flag.Parse()
	ctx := context.Background()
	c, err := s3src.NewClient(ctx, s3src.Config{Endpoint: *endpoint, PathStyle: *endpoint != ""})
	if err != nil {
		fail(err)
	}
	c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: bucket}) // may exist
	for _, p := range flag.Args() {
		f, err := os.Open(p)
		if err != nil {
			fail(err)
		}
		key := *prefix + filepath.Base(p)
		if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: bucket, Key: &key, Body: f}); err != nil {
			fail(fmt.Errorf("%s: %w", key, err))
		}
		f.Close()
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "s3upload:", err)
	os.Exit(1)
}
