package demo

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/batonhq/baton/internal/fakediscord"
)

// Option types of Discord's application commands.
const (
	optSubCommand = 1
	optGroup      = 2
	optString     = 3
	optInteger    = 4
	optBoolean    = 5
	optUser       = 6
	optNumber     = 10
)

// commandSchema is a registered command, or one of its options, as baton
// sent it in the bulk overwrite.
type commandSchema struct {
	Name     string          `json:"name"`
	Type     int             `json:"type"`
	Required bool            `json:"required"`
	Options  []commandSchema `json:"options"`
}

var incidentRefRE = regexp.MustCompile(`(?i)^(?:inc-|#)?(\d+)$`)

// parseSlashCommand turns what a visitor typed ("/incident ack 3 on it")
// into a registered command's name and options, as Discord's client does
// from its form: the first word after the command picks a sub-command, then
// the options take the words in their declared order, typed (an integer
// takes "3", "#3" or "INC-3"; a user takes a demo person's id, name or
// snowflake, with or without "@"). A string option takes one word, or all
// that are left when it is the last string option or a required one with
// nothing required after it. "name:value" sets an option by name (its value
// runs to the next "name:"), and "double quotes" make one word of several.
// person resolves a user option's word to a user id.
func parseSlashCommand(text string, cmds []fakediscord.Command, person func(string) (string, bool)) (string, []fakediscord.CommandOption, error) {
	words := splitWords(strings.TrimSpace(text))
	if len(words) == 0 || !strings.HasPrefix(words[0], "/") || len(words[0]) < 2 {
		return "", nil, fmt.Errorf(`type a slash command such as "/incident ack" or "/oncall show"`)
	}
	name := strings.ToLower(strings.TrimPrefix(words[0], "/"))
	var names []string
	var cmd *commandSchema
	for _, c := range cmds {
		names = append(names, "/"+c.Name)
		if c.Name == name {
			var sc commandSchema
			if err := json.Unmarshal(c.Raw, &sc); err != nil {
				return "", nil, fmt.Errorf("/%s as registered: %w", name, err)
			}
			cmd = &sc
		}
	}
	if cmd == nil {
		if len(names) == 0 {
			return "", nil, fmt.Errorf("no commands are registered yet: baton registers /incident and /oncall when it connects")
		}
		return "", nil, fmt.Errorf("there is no /%s command here; the commands are %s", name, strings.Join(names, ", "))
	}
	opts, err := parseOptions("/"+name, cmd.Options, words[1:], person)
	return name, opts, err
}

func parseOptions(path string, schema []commandSchema, words []string, person func(string) (string, bool)) ([]fakediscord.CommandOption, error) {
	var subs []string
	for _, o := range schema {
		if o.Type == optSubCommand || o.Type == optGroup {
			subs = append(subs, o.Name)
		}
	}
	if len(subs) > 0 {
		if len(words) == 0 {
			return nil, fmt.Errorf("%s needs one of: %s", path, strings.Join(subs, ", "))
		}
		for _, o := range schema {
			if (o.Type == optSubCommand || o.Type == optGroup) && strings.EqualFold(o.Name, words[0]) {
				inner, err := parseOptions(path+" "+o.Name, o.Options, words[1:], person)
				if err != nil {
					return nil, err
				}
				if inner == nil {
					inner = []fakediscord.CommandOption{}
				}
				return []fakediscord.CommandOption{{Name: o.Name, Type: o.Type, Options: inner}}, nil
			}
		}
		return nil, fmt.Errorf("%s has no %q: it takes one of %s", path, words[0], strings.Join(subs, ", "))
	}

	// name:value words first.
	byName := map[string]string{}
	known := func(w string) (string, string, bool) {
		k, v, ok := strings.Cut(w, ":")
		if !ok {
			return "", "", false
		}
		for _, o := range schema {
			if strings.EqualFold(o.Name, k) {
				return o.Name, v, true
			}
		}
		return "", "", false
	}
	var rest []string
	for i := 0; i < len(words); i++ {
		k, v, ok := known(words[i])
		if !ok {
			rest = append(rest, words[i])
			continue
		}
		vals := []string{}
		if v != "" {
			vals = append(vals, v)
		}
		for i+1 < len(words) {
			if _, _, next := known(words[i+1]); next {
				break
			}
			i++
			vals = append(vals, words[i])
		}
		byName[k] = strings.Join(vals, " ")
	}

	var out []fakediscord.CommandOption
	value := func(o commandSchema, w string) (any, bool) {
		switch o.Type {
		case optInteger:
			m := incidentRefRE.FindStringSubmatch(w)
			if m == nil {
				return nil, false
			}
			n, err := strconv.Atoi(m[1])
			return n, err == nil
		case optNumber:
			f, err := strconv.ParseFloat(w, 64)
			return f, err == nil
		case optBoolean:
			switch strings.ToLower(w) {
			case "true", "yes", o.Name:
				return true, true
			case "false", "no":
				return false, true
			}
			return nil, false
		case optUser:
			return person(w)
		case optString:
			return w, w != ""
		}
		return nil, false
	}
	for i, o := range schema {
		if v, ok := byName[o.Name]; ok {
			x, good := value(o, v)
			if !good {
				return nil, fmt.Errorf("%s: %s:%s is not a valid %s", path, o.Name, v, optionKind(o.Type))
			}
			out = append(out, fakediscord.CommandOption{Name: o.Name, Type: o.Type, Value: x})
			continue
		}
		if len(rest) == 0 {
			if o.Required {
				return nil, fmt.Errorf("%s needs %s (%s)", path, o.Name, optionKind(o.Type))
			}
			continue
		}
		w := rest[0]
		if o.Type == optString && greedy(schema, i, byName) {
			w = strings.Join(rest, " ")
		}
		x, good := value(o, w)
		if !good {
			if o.Required {
				return nil, fmt.Errorf("%s: %q is not a valid %s for %s", path, w, optionKind(o.Type), o.Name)
			}
			continue
		}
		if o.Type == optString && greedy(schema, i, byName) {
			rest = nil
		} else {
			rest = rest[1:]
		}
		out = append(out, fakediscord.CommandOption{Name: o.Name, Type: o.Type, Value: x})
	}
	if len(rest) > 0 {
		return nil, fmt.Errorf("%s: %q is not an option it takes", path, strings.Join(rest, " "))
	}
	return out, nil
}

// greedy reports whether the string option schema[i] takes all the words
// left: it is the last string option given by position, or a required one
// with nothing required after it.
func greedy(schema []commandSchema, i int, byName map[string]string) bool {
	last, laterRequired := true, false
	for _, o := range schema[i+1:] {
		if _, named := byName[o.Name]; named {
			continue
		}
		last = last && o.Type != optString
		laterRequired = laterRequired || o.Required
	}
	return last || (schema[i].Required && !laterRequired)
}

func optionKind(t int) string {
	switch t {
	case optInteger:
		return "number such as 3 or INC-3"
	case optNumber:
		return "number"
	case optBoolean:
		return "true or false"
	case optUser:
		return "demo person such as alice"
	}
	return "text"
}

// splitWords splits on spaces, keeping "double quoted" runs as one word.
func splitWords(s string) []string {
	var out []string
	var b strings.Builder
	quoted, has := false, false
	for _, r := range s {
		switch {
		case r == '"':
			quoted = !quoted
			has = true
		case r == ' ' && !quoted:
			if has {
				out = append(out, b.String())
				b.Reset()
				has = false
			}
		default:
			b.WriteRune(r)
			has = true
		}
	}
	if has {
		out = append(out, b.String())
	}
	return out
}
