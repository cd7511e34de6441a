// Package token mints and checks the HS256 connection tokens the peers
// share with bench-server (the same secret, user "bench").
package token

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"time"
)

// Secret is bench-server's HS256 secret (loopback only).
const Secret = "wirecall-bench-secret"

// Mint makes an HS256 JWT of user that expires at exp.
func Mint(user string, exp time.Time) (string, error) {
	header := base64.RawURLEncoding.EncodeToString([]byte(`{"typ":"JWT","alg":"HS256"}`))
	claims, err := json.Marshal(map[string]any{"sub": user, "exp": exp.Unix()})
	if err != nil {
		return "", err
	}
	unsigned := header + "." + base64.RawURLEncoding.EncodeToString(claims)
	return unsigned + "." + sign(unsigned), nil
}

// Verify checks an HS256 JWT's signature and expiry; returns its sub.
func Verify(token string) (string, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 || !hmac.Equal([]byte(sign(parts[0]+"."+parts[1])), []byte(parts[2])) {
		return "", errors.New("bad signature")
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return "", err
	}
	var claims struct {
		Sub string `json:"sub"`
		Exp int64  `json:"exp"`
	}
	if err := json.Unmarshal(payload, &claims); err != nil {
		return "", err
	}
	if claims.Exp != 0 && time.Now().Unix() >= claims.Exp {
		return "", errors.New("expired")
	}
	return claims.Sub, nil
}

func sign(unsigned string) string {
	mac := hmac.New(sha256.New, []byte(Secret))
	mac.Write([]byte(unsigned))
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}
