package chip

import (
	"context"
	"crypto/rsa"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/paycallback/paycallback/verify"
)

// DefaultBaseURL is CHIP Collect's API.
const DefaultBaseURL = "https://gate.chip-in.asia"

// publicKeyPath is where CHIP answers the company's public key.
const publicKeyPath = "/api/v1/public_key/"

// maxKeyResponse bounds the public key response: a 4096-bit PEM in a JSON
// string is under 1 KiB.
const maxKeyResponse = 64 << 10

// KeySourceConfig configures NewKeySource.
type KeySourceConfig struct {
	// APIKey is the CHIP API key (secret key), sent as a Bearer token.
	// Required.
	APIKey string

	// BaseURL is the API's base; default DefaultBaseURL.
	BaseURL string

	// Client makes the call; default a client with a 10-second timeout.
	Client *http.Client

	// RefreshInterval is the least time between two fetches, see
	// verify.RemoteKeysConfig; default verify.DefaultRefreshInterval.
	RefreshInterval time.Duration

	// Now is the clock; default time.Now.
	Now func() time.Time
}

// NewKeySource returns a key source for the company-wide public key that
// signs purchase success callbacks, fetched from CHIP's
// GET {BaseURL}/api/v1/public_key/ with the API key as a Bearer token. The
// key is fetched on first use and cached; when a signature matches no
// key, it is fetched again, at most once per RefreshInterval, so a key
// rotation on CHIP's side is picked up and forged requests cannot make
// the handler hammer CHIP's API. While the API cannot be reached and no
// key matches, deliveries are answered 503 and CHIP retries.
//
// It lives here rather than in package verify because it speaks CHIP's
// API (path, authentication, answer format); verify provides the generic
// caching and rate limiting (verify.RemoteKeys) that it configures.
//
// It returns an error matching verify.ErrConfig for an empty APIKey or an
// invalid BaseURL.
func NewKeySource(cfg KeySourceConfig) (*verify.RemoteKeys, error) {
	if cfg.APIKey == "" {
		return nil, fmt.Errorf("chip: %w: KeySourceConfig.APIKey is required", verify.ErrConfig)
	}
	if cfg.BaseURL == "" {
		cfg.BaseURL = DefaultBaseURL
	}
	u, err := url.Parse(cfg.BaseURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("chip: %w: KeySourceConfig.BaseURL %q is not an http(s) URL", verify.ErrConfig, cfg.BaseURL)
	}
	endpoint := strings.TrimSuffix(cfg.BaseURL, "/") + publicKeyPath
	client := cfg.Client
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	apiKey := cfg.APIKey
	return verify.NewRemoteKeys(verify.RemoteKeysConfig{
		RefreshInterval: cfg.RefreshInterval,
		Now:             cfg.Now,
		Fetch: func(ctx context.Context) ([]*rsa.PublicKey, error) {
			k, err := fetchPublicKey(ctx, client, endpoint, apiKey)
			if err != nil {
				return nil, err
			}
			return []*rsa.PublicKey{k}, nil
		},
	})
}

func fetchPublicKey(ctx context.Context, client *http.Client, endpoint, apiKey string) (*rsa.PublicKey, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, endpoint, nil)
	if err != nil {
		return nil, fmt.Errorf("chip: public key request: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+apiKey)
	req.Header.Set("Accept", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("chip: GET %s: %w", endpoint, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxKeyResponse+1))
	if err != nil {
		return nil, fmt.Errorf("chip: GET %s: reading the answer: %w", endpoint, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("chip: GET %s: status %s", endpoint, resp.Status)
	}
	if len(body) > maxKeyResponse {
		return nil, errors.New("chip: GET " + endpoint + ": answer too large")
	}
	k, err := verify.ParseRSAPublicKey(body)
	if err != nil {
		return nil, fmt.Errorf("chip: GET %s: %w", endpoint, err)
	}
	return k, nil
}
