package lambdarie

import (
	"archive/zip"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// writeEtc writes the root's /etc: names, the resolver (the host's, as
// the network is the host's) and the CA bundle at Amazon Linux's path.
func writeEtc(dir string) error {
	files := map[string]string{
		"passwd":      "root:x:0:0:root:/root:/sbin/nologin\nsbx_user1051:x:993:990::/home/sbx_user1051:/sbin/nologin\n",
		"group":       "root:x:0:\nsbx_user1051:x:990:\n",
		"hosts":       "127.0.0.1 localhost\n::1 localhost\n",
		"os-release":  "NAME=\"Amazon Linux\"\nVERSION=\"2023\"\nID=\"amzn\"\nVERSION_ID=\"2023\"\n",
		"resolv.conf": "",
	}
	if b, err := os.ReadFile("/etc/resolv.conf"); err == nil {
		files["resolv.conf"] = string(b)
	}
	for _, ca := range []string{"/etc/pki/tls/certs/ca-bundle.crt", "/etc/ssl/certs/ca-certificates.crt", "/etc/ssl/cert.pem"} {
		if b, err := os.ReadFile(ca); err == nil {
			files["pki/tls/certs/ca-bundle.crt"] = string(b)
			break
		}
	}
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// unzip extracts a zip into dir with the modes it records, refusing names
// that would land outside dir.
func unzip(path, dir string) error {
	r, err := zip.OpenReader(path)
	if err != nil {
		return err
	}
	defer r.Close()
	for _, zf := range r.File {
		name := filepath.Clean(zf.Name)
		if !filepath.IsLocal(name) {
			return fmt.Errorf("%s: %q is outside the archive's folder", path, zf.Name)
		}
		dst := filepath.Join(dir, name)
		if zf.FileInfo().IsDir() {
			if err := os.MkdirAll(dst, 0o755); err != nil {
				return err
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		if err := extract(zf, dst); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
	}
	return nil
}

func extract(zf *zip.File, dst string) error {
	src, err := zf.Open()
	if err != nil {
		return err
	}
	defer src.Close()
	mode := zf.Mode().Perm()
	if mode == 0 {
		mode = 0o644
	}
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, src); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
