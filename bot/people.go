package bot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"
)

// Person is someone from config.yaml's people, as the chat side sees them.
// ChatID is their user id in this chat when config names it (people[].slack
// for Slack); otherwise People finds it by Email, once.
type Person struct {
	ID     string
	Name   string
	Email  string
	ChatID string
}

// ErrUnreachable: a person has no account in the chat (no id configured, no
// user with their email). A page to them cannot be delivered; the Pager
// marks it permanent so that the escalation runner pages the fallback at once.
var ErrUnreachable = errors.New("cannot be reached in chat")

// negativeTTL is how long a failed email lookup, or a chat user who is
// nobody in config, is remembered in memory before the chat is asked again.
const negativeTTL = 10 * time.Minute

// People maps people from config to chat users and back. Chat ids that
// config does not give are looked up by email once and kept in Redis, so
// every replica (and every restart) reuses them. It is safe for concurrent use.
type People struct {
	chat   Chat
	st     *state
	log    *slog.Logger
	now    func() time.Time
	people map[string]Person
	order  []string

	mu        sync.Mutex
	toChat    map[string]string    // person → chat id
	toPerson  map[string]string    // chat id → person
	noAccount map[string]time.Time // person → when a lookup found nobody
	stranger  map[string]time.Time // chat id → when it matched nobody
}

func newPeople(chat Chat, st *state, people []Person, log *slog.Logger, now func() time.Time) (*People, error) {
	d := &People{chat: chat, st: st, log: log, now: now, people: map[string]Person{},
		toChat: map[string]string{}, toPerson: map[string]string{},
		noAccount: map[string]time.Time{}, stranger: map[string]time.Time{}}
	for _, p := range people {
		if p.ID == "" {
			return nil, errors.New("bot: a person without an id")
		}
		if _, dup := d.people[p.ID]; dup {
			return nil, fmt.Errorf("bot: person %s listed twice", p.ID)
		}
		if p.Name == "" {
			p.Name = p.ID
		}
		d.people[p.ID] = p
		d.order = append(d.order, p.ID)
		if p.ChatID != "" {
			d.toChat[p.ID] = p.ChatID
			d.toPerson[p.ChatID] = p.ID
		}
	}
	return d, nil
}

// Get returns the person with id.
func (d *People) Get(id string) (Person, bool) {
	p, ok := d.people[id]
	return p, ok
}

// Ref is a card's reference to person id, with the chat id when it is known
// without asking anyone.
func (d *People) Ref(id string) PersonRef {
	p, ok := d.people[id]
	if !ok {
		return PersonRef{ID: id, Name: id}
	}
	d.mu.Lock()
	chatID := d.toChat[id]
	d.mu.Unlock()
	return PersonRef{ID: id, Name: p.Name, ChatID: chatID}
}

// Find returns the person a word names: an id from config or a name
// (case-insensitive, spaces optional).
func (d *People) Find(word string) (Person, bool) {
	w := strings.ToLower(strings.TrimPrefix(word, "@"))
	if p, ok := d.people[w]; ok {
		return p, true
	}
	for _, id := range d.order {
		p := d.people[id]
		if strings.EqualFold(p.Name, w) || strings.EqualFold(strings.ReplaceAll(p.Name, " ", ""), w) {
			return p, true
		}
	}
	return Person{}, false
}

// ChatID returns person's chat user id: from config, else from the cache,
// else looked up by email (once; the answer is kept in Redis). An error
// wrapping ErrUnreachable means the person has no chat account; other
// errors are the chat's or Redis's and worth retrying.
func (d *People) ChatID(ctx context.Context, person string) (string, error) {
	p, ok := d.people[person]
	if !ok {
		return "", fmt.Errorf("%s is not in people: %w", person, ErrUnreachable)
	}
	d.mu.Lock()
	id, cached := d.toChat[person]
	missAt, missing := d.noAccount[person]
	d.mu.Unlock()
	if cached {
		return id, nil
	}
	id, err := d.st.hget(ctx, d.st.people(), "p:"+person)
	if err != nil {
		return "", err
	}
	if id != "" {
		d.learn(person, id)
		return id, nil
	}
	if !looksUpEmail(d.chat) {
		return "", fmt.Errorf("%s has no %s id in config: %w", person, d.chat.Name(), ErrUnreachable)
	}
	if p.Email == "" {
		return "", fmt.Errorf("%s has no %s id and no email in config: %w", person, d.chat.Name(), ErrUnreachable)
	}
	if missing && d.now().Sub(missAt) < negativeTTL {
		return "", fmt.Errorf("%s: no %s user with email %s: %w", person, d.chat.Name(), p.Email, ErrUnreachable)
	}
	id, err = d.chat.LookupEmail(ctx, p.Email)
	if errors.Is(err, ErrNoUser) {
		d.mu.Lock()
		d.noAccount[person] = d.now()
		d.mu.Unlock()
		return "", fmt.Errorf("%s: no %s user with email %s: %w", person, d.chat.Name(), p.Email, ErrUnreachable)
	}
	if err != nil {
		return "", fmt.Errorf("look up %s by email: %w", person, err)
	}
	if err := d.st.remember(ctx, person, id); err != nil {
		d.log.Warn("bot: could not cache a chat id; it will be looked up again", "person", person, "err", err)
	}
	d.learn(person, id)
	return id, nil
}

// Person returns who a chat user is in config; ok is false for someone who
// is not in people (a stranger).
func (d *People) Person(ctx context.Context, chatID string) (Person, bool, error) {
	d.mu.Lock()
	id, known := d.toPerson[chatID]
	seenAt, strange := d.stranger[chatID]
	d.mu.Unlock()
	if known {
		return d.people[id], true, nil
	}
	id, err := d.st.hget(ctx, d.st.people(), "u:"+chatID)
	if err != nil {
		return Person{}, false, err
	}
	if p, ok := d.people[id]; ok {
		d.learn(id, chatID)
		return p, true, nil
	}
	if strange && d.now().Sub(seenAt) < negativeTTL {
		return Person{}, false, nil
	}
	email, err := d.chat.UserEmail(ctx, chatID)
	if err != nil && !errors.Is(err, ErrNoUser) {
		return Person{}, false, fmt.Errorf("who is %s: %w", chatID, err)
	}
	if email != "" {
		for _, pid := range d.order {
			p := d.people[pid]
			if p.ChatID == "" && p.Email != "" && strings.EqualFold(p.Email, email) {
				if err := d.st.remember(ctx, pid, chatID); err != nil {
					d.log.Warn("bot: could not cache a chat id", "person", pid, "err", err)
				}
				d.learn(pid, chatID)
				return p, true, nil
			}
		}
	}
	d.mu.Lock()
	d.stranger[chatID] = d.now()
	d.mu.Unlock()
	return Person{}, false, nil
}

func (d *People) learn(person, chatID string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.toChat[person] = chatID
	d.toPerson[chatID] = person
	delete(d.noAccount, person)
	delete(d.stranger, chatID)
}

// Check resolves everyone's chat id and returns one error per person who
// cannot be reached (ErrUnreachable) or could not be looked up. Main runs it
// at start-up and warns loudly: a person on call with no chat account is a
// page that will go to the fallback (DESIGN: no silent failures).
func (d *People) Check(ctx context.Context) []error {
	var errs []error
	for _, id := range d.order {
		if _, err := d.ChatID(ctx, id); err != nil {
			errs = append(errs, err)
		}
	}
	return errs
}
