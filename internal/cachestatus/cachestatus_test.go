package cachestatus

import (
	"testing"
	"time"
)

// RenderInto writes what Render writes, whether the member fits its
// buffer or not, and leaves it intact when the buffer's owner renders
// another member into a buffer of its own.
func TestRenderIntoIsRender(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, st := range []Status{
		{Hit: true},
		Status{Hit: true}.WithTTL(now.Add(42*time.Second), now),
		Status{Hit: true, Detail: DetailHeuristic}.WithTTL(now.Add(-3*time.Second), now),
		{Fwd: FwdURIMiss, Stored: true},
		Status{Fwd: FwdStale, FwdStatus: 304, Collapsed: true}.WithTTL(now.Add(time.Hour), now),
		{Fwd: FwdRequest, FwdStatus: 504, TTL: -9223372036854775808, HasTTL: true, Stored: true, Collapsed: true, Detail: DetailLocationCredential},
	} {
		var buf [64]byte
		got := st.RenderInto(&buf)
		want := st.Render()
		var other [64]byte
		_ = (&Status{Fwd: FwdBypass, Detail: DetailDisabled}).RenderInto(&other)
		if got != want {
			t.Errorf("RenderInto %q, Render %q", got, want)
		}
	}
}
