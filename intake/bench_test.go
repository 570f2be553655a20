package intake

import (
	"context"
	"testing"
)

// The parsers sit on the intake hot path (target: more than 8000 alerts/s per
// replica, including Redis); these measure them alone.

func BenchmarkParseSumoLogic(b *testing.B) {
	for _, name := range []string{"sumologic-monitor-critical", "sumologic-snake-critical", "sumologic-search-legacy"} {
		body := readTestdata(b, name)
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				if _, err := ParseSumoLogic(body, testNow); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkParseGeneric(b *testing.B) {
	body := readTestdata(b, "generic-alert")
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, err := ParseGeneric(body, testNow); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseCloudWatch(b *testing.B) {
	body := readTestdata(b, "sns-cloudwatch-alarm")
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, _, err := parseCloudWatch(body, testNow); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSNSVerify measures a signature check with the certificate cached,
// the steady state.
func BenchmarkSNSVerify(b *testing.B) {
	p := getPKI(b)
	for _, version := range []string{"1", "2"} {
		m := loadSNS(b, "sns-cloudwatch-alarm")
		signSNS(b, &m, p.key, version)
		v := testVerifier(&fakeCerts{pem: map[string][]byte{testCertURL: p.certPEM}})
		ctx := context.Background()
		b.Run("v"+version, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := v.Verify(ctx, m); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
