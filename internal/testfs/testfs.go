// Package testfs gives tests directories that fail as real disks do: a
// small tmpfs that fills up, or one mounted read-only. Mounting needs root
// (CI runs as root); without it the test is skipped, saying why.
package testfs

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// Mount mounts a tmpfs with the mount options opts ("size=64k", "ro") at
// dir, creating dir if needed, and unmounts it when the test ends. The test
// is skipped when mounting is not allowed.
func Mount(t testing.TB, dir, opts string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", opts, "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs (%v: %s): this disk fault needs root", err, bytes.TrimSpace(out))
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", "-l", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, out)
		}
	})
}

// Remount changes the options of a mount made by Mount ("remount,ro").
func Remount(t testing.TB, dir, opts string) {
	t.Helper()
	if out, err := exec.Command("mount", "-o", opts, dir).CombinedOutput(); err != nil {
		t.Skipf("cannot remount %s with %s (%v: %s)", dir, opts, err, bytes.TrimSpace(out))
	}
}

// Fill writes a file in dir until its disk is full and returns the file's
// path (remove it to make room again).
func Fill(t testing.TB, dir string) string {
	t.Helper()
	p := filepath.Join(dir, "filler")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 4096)
	for {
		if _, err := f.Write(buf); err != nil {
			return p
		}
	}
}
