//go:build chaos

package chaos

import (
	"context"
	"errors"
	"testing"
)

func startSentinel(ctx context.Context, t *testing.T) (topology, error) {
	return nil, errors.New("sentinel: not built yet")
}

func startCluster(ctx context.Context, t *testing.T) (topology, error) {
	return nil, errors.New("cluster: not built yet")
}
