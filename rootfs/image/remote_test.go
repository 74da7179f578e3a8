package image

import (
	"errors"
	"net/http"
	"strings"
	"testing"
)

func TestPlainHTTPOnlyForLoopbackAndInsecureRegistries(t *testing.T) {
	r := newResolver(t, t.TempDir(), func(o *Options) { o.InsecureRegistries = []string{"registry.lan:5000", "10.1.2.3"} })
	for host, want := range map[string]bool{
		"127.0.0.1:5000":    true,
		"127.1.2.3":         true,
		"[::1]:5000":        true,
		"localhost:5000":    true,
		"localhost":         true,
		"registry.lan:5000": true,
		"10.1.2.3":          true,
		"10.1.2.3:5000":     false,
		"10.0.0.5:5000":     false,
		"172.16.0.1":        false,
		"192.168.1.10:5000": false,
		"registry.lan":      false,
		"evil.localhost":    false,
		"ghcr.io":           false,
	} {
		if got := r.plainHTTP(host); got != want {
			t.Errorf("plainHTTP(%q) = %v, want %v", host, got, want)
		}
	}
}

func TestPrivateRangeRegistryRequestsGoOverHTTPS(t *testing.T) {
	r := newResolver(t, t.TempDir())
	var got []string
	tr := httpsOnly{base: recordingTransport{&got}, allow: r.plainHTTP}
	for _, u := range []string{"http://192.168.1.10:5000/v2/", "http://127.0.0.1:5000/v2/", "https://ghcr.io/v2/"} {
		req, err := http.NewRequest(http.MethodGet, u, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tr.RoundTrip(req); err == nil || req.URL.String() != u {
			t.Errorf("%s: err = %v, request changed to %s", u, err, req.URL)
		}
	}
	want := []string{"https://192.168.1.10:5000/v2/", "http://127.0.0.1:5000/v2/", "https://ghcr.io/v2/"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("requests sent: %q, want %q", got, want)
	}
}

func TestHTTPSOnlyKeepsPlainHTTPForTheInsecureHostsGiven(t *testing.T) {
	var got []string
	tr := HTTPSOnly(recordingTransport{&got}, []string{"10.0.0.1:5000"})
	for _, u := range []string{"http://10.0.0.1:5000/v2/", "http://10.0.0.2:5000/v2/", "http://localhost:5000/v2/"} {
		req, err := http.NewRequest(http.MethodGet, u, nil)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = tr.RoundTrip(req)
	}
	want := []string{"http://10.0.0.1:5000/v2/", "https://10.0.0.2:5000/v2/", "http://localhost:5000/v2/"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("requests sent: %q, want %q", got, want)
	}
}

// recordingTransport records the URLs of the requests it is given and sends none.
type recordingTransport struct{ urls *[]string }

func (t recordingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	*t.urls = append(*t.urls, req.URL.String())
	return nil, errors.New("not sent")
}
