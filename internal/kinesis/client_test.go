package kinesis

import (
	"context"
	"os"
	"slices"
	"strings"
	"testing"
)

// clearAWSEnv unsets, for the test, every variable that could point the
// SDK elsewhere than where the test says.
func clearAWSEnv(t *testing.T) {
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "AWS_") {
			t.Setenv(k, "")
			os.Unsetenv(k)
		}
	}
}

// A client built by NewClient from the standard configuration reaches the
// emulator given only AWS_ENDPOINT_URL_KINESIS, dummy credentials and
// AWS_REGION: the SDK (service/kinesis v1.57.0 with config v1.33.16)
// resolves the service-specific endpoint variable by itself.
func TestNewClientTakesEndpointFromEnvironment(t *testing.T) {
	s := emulator(t)
	name := s.CreateStream(t, 1)
	shard, data, _ := put(t, s, name, "0", "env", 2)

	clearAWSEnv(t)
	for _, kv := range s.Env() {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	c, err := NewClient(context.Background(), Config{})
	if err != nil {
		t.Fatal(err)
	}
	if ep := c.Options().BaseEndpoint; ep == nil || *ep != s.Endpoint {
		t.Errorf("BaseEndpoint %v, want %s", ep, s.Endpoint)
	}
	shards, err := ListShards(context.Background(), c, Stream{Name: name}, Backoff{})
	if err != nil || len(shards) != 1 || shards[0].ID != shard {
		t.Fatalf("ListShards = %+v, %v", shards, err)
	}
	got, _ := readAll(t, NewReader(c, Stream{Name: name}, shard, TrimHorizon(), fastOptions))
	if !slices.Equal(got, data) {
		t.Errorf("read %q, want %q", got, data)
	}
}

// Config.Endpoint overrides the environment; Config.Region the region.
func TestNewClientConfig(t *testing.T) {
	clearAWSEnv(t)
	t.Setenv("AWS_ENDPOINT_URL_KINESIS", "http://127.0.0.1:1")
	t.Setenv("AWS_REGION", "eu-west-1")
	t.Setenv("AWS_CONFIG_FILE", os.DevNull)
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", os.DevNull)
	c, err := NewClient(context.Background(), Config{Endpoint: "http://127.0.0.1:2", Region: "eu-west-3"})
	if err != nil {
		t.Fatal(err)
	}
	if o := c.Options(); *o.BaseEndpoint != "http://127.0.0.1:2" || o.Region != "eu-west-3" {
		t.Errorf("BaseEndpoint %s, Region %s", *o.BaseEndpoint, o.Region)
	}
	os.Unsetenv("AWS_REGION")
	if _, err := NewClient(context.Background(), Config{}); err == nil || !strings.Contains(err.Error(), "AWS_REGION") {
		t.Errorf("no region: err = %v", err)
	}
}
