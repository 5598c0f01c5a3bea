package ledger

// StopRenewing stops the renewals without releasing anything, as when the
// worker's process is gone.
func (l *S3) StopRenewing() {
	close(l.stop)
	l.wg.Wait()
	l.stop = make(chan struct{})
}

// RenewNow renews the claims held once.
func (l *S3) RenewNow() { l.renewAll() }
