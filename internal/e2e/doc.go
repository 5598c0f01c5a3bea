// Package e2e holds the end-to-end tests: they build the trackless binary,
// run it against the Matomo stand-in (matomotest) under scripted faults and
// crashes, and compare what Matomo stored with what `trackless parse`
// prints. It has no code of its own.
package e2e
