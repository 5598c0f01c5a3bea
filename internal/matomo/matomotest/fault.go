package matomotest

import "time"

// FaultKind selects what a scripted fault does to one bulk POST.
type FaultKind int

const (
	// FaultNone: the request is handled normally.
	FaultNone FaultKind = iota
	// Fault500: process the first ProcessBefore items, then fail like a
	// database error: roll the whole batch back and answer 500
	// {"status":"error","tracked":K,"invalid":0} where K counts the
	// non-invalid items among those processed (Matomo counts them although
	// nothing of the batch is stored). ProcessBefore >= len(items) fails at
	// commit time, after every item was processed.
	Fault500
	// Fault429: answer 429 with "Retry-After: <seconds>" (RetryAfter
	// rounded up to whole seconds; no header when RetryAfter is 0).
	// Nothing is stored.
	Fault429
	// Fault503: a proxy in front answers 503. Nothing is stored.
	Fault503
	// FaultSlow: PHP takes Delay longer on this request (a slow database,
	// a lock): the batch is processed, its transaction stays open for
	// Delay (on top of any Config.PerItemDelay), then it is committed and
	// answered. The commit happens whether or not the client is still
	// there: matomo.php calls ignore_user_abort(true), so a client that
	// times out does not stop PHP, and a resend is stored a second time.
	// A commit after the client had gone counts in
	// Stats.CommittedClientGone.
	FaultSlow
	// FaultDrop: close the connection without answering. Nothing is stored.
	FaultDrop
	// FaultDropAfterCommit: process and commit the batch, then close the
	// connection without answering: the client cannot know it was stored.
	FaultDropAfterCommit
	// FaultBadJSONAnswer: process and commit, then answer 200 with a body
	// that is not JSON (a PHP warning printed before the JSON result).
	FaultBadJSONAnswer
	// FaultMismatch: process and commit everything, then answer 200
	// success with tracked one less than it really is (if tracked is 0,
	// invalid one less; if both are 0, tracked 1).
	FaultMismatch
	// FaultSlowAfterCommit: process and commit, then wait Delay before
	// answering. A client that times out meanwhile loses the answer of a
	// stored batch (what a slow real Matomo does to a client with a short
	// timeout: PHP finishes the batch although the client is gone).
	FaultSlowAfterCommit
	// FaultLockWait: the items at Indices (0-based, in the filtered list)
	// hit a MySQL lock-wait timeout: Matomo skips them silently, counting
	// them neither as tracked nor as invalid; the rest is committed and
	// the answer is a normal success whose tracked+invalid is smaller than
	// the number of items sent.
	FaultLockWait
	// FaultHang: the request never reaches PHP (a network path or proxy
	// that swallows it): the connection stays open without an answer for
	// Delay, or until the client gives up (Delay 0: until then, or until
	// the server stops), then is closed. Nothing is stored.
	FaultHang
	// FaultDBGone: the database went away while the batch was processed:
	// the transaction is lost (nothing is stored) and Matomo answers HTTP
	// 200, text/html, "Error:SQLSTATE[HY000]: General error: 2006 MySQL
	// server has gone away" (what a real 5.0.2 answered when its MariaDB
	// was stopped under load). A client cannot tell it from a failure at
	// commit time.
	FaultDBGone
)

var faultNames = [...]string{"none", "500", "429", "503", "slow", "drop", "drop_after_commit", "bad_json_answer", "mismatch", "slow_after_commit", "lock_wait", "hang", "db_gone"}

func (k FaultKind) String() string {
	if k >= 0 && int(k) < len(faultNames) {
		return faultNames[k]
	}
	return "unknown"
}

// Fault is one scripted misbehaviour, applied to one bulk POST.
type Fault struct {
	Kind          FaultKind
	ProcessBefore int           // Fault500
	RetryAfter    time.Duration // Fault429
	Delay         time.Duration // FaultSlow, FaultSlowAfterCommit, FaultHang
	Indices       []int         // FaultLockWait
}
