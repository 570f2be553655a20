package bot

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/batonhq/baton/incident"
)

// pageInKey reads a page-in DM's message key, "pagein:<n>:<person>:<count>"
// (escalation.PageIn.Key): the incident and the person paged in. A page-in's
// fallback post ("…/fallback") is not a page-in DM.
func pageInKey(key string) (n int64, person string, ok bool) {
	parts := strings.Split(key, ":")
	if len(parts) != 4 || parts[0] != "pagein" || parts[2] == "" {
		return 0, "", false
	}
	if _, err := strconv.Atoi(parts[3]); err != nil {
		return 0, "", false
	}
	n, err := strconv.ParseInt(parts[1], 10, 64)
	if err != nil || n < 1 {
		return 0, "", false
	}
	return n, parts[2], true
}

// reactPageIn runs an acknowledge reaction on a page-in DM of incident n
// to person: from that person, it acknowledges their page-in as the
// button does (they become a responder; the owner stays the owner); from
// anyone else it changes nothing and says whose page it is. The reply is
// shown either way. Its error (the store unavailable) is worth retrying,
// as react's.
func (x *Executor) reactPageIn(ctx context.Context, user string, n int64, person string) (Reply, bool, error) {
	by, ok, err := x.c.people.Person(ctx, user)
	if err != nil {
		return Reply{}, false, fmt.Errorf("reaction: who reacted: %w", err)
	}
	if !ok {
		return Reply{Text: x.strangerText()}, true, nil
	}
	if by.ID != person {
		return Reply{Text: fmt.Sprintf("That page-in is %s's: only they can acknowledge it.", x.c.people.Ref(person).Name)}, true, nil
	}
	st, ok := x.c.pageIns()
	if !ok {
		return Reply{Text: "Paging someone in is not available here."}, true, nil
	}
	if _, err := st.AckPageIn(ctx, n, by.ID, x.c.now()); err != nil {
		if incident.ErrorCode(err) == incident.Unavailable {
			return Reply{}, false, fmt.Errorf("reaction: acknowledge page-in INC-%d: %w", n, err)
		}
		return Reply{Text: x.sentence(err)}, true, nil
	}
	x.c.wake()
	x.log().Info("page-in acknowledged by reaction", "incident", n, "by", by.ID)
	return Reply{Text: fmt.Sprintf("You acknowledged your page on %s; you are a responder and the pages have stopped. The owner stays the owner.", ref(n))}, true, nil
}
