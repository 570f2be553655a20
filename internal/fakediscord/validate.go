package fakediscord

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Discord's limits, as the fake enforces them.
const (
	MaxContent          = 2000
	MaxEmbeds           = 10
	MaxEmbedTitle       = 256
	MaxEmbedDescription = 4096
	MaxEmbedTotal       = 6000
	MaxRows             = 5
	MaxRowComponents    = 5
	MaxCustomID         = 100
	MaxButtonLabel      = 80
	MaxNonce            = 25
	MaxCommandName      = 32
	MaxCommandDesc      = 100
	MaxCommandOptions   = 25
	MaxChannelName      = 100
	MaxPins             = 50
)

// messagePayload is a message create or edit body. Pointers tell "absent"
// from "empty" for edits.
type messagePayload struct {
	Content         *string         `json:"content"`
	Embeds          json.RawMessage `json:"embeds"`
	Components      json.RawMessage `json:"components"`
	AllowedMentions json.RawMessage `json:"allowed_mentions"`
	Flags           int             `json:"flags"`
	Nonce           json.RawMessage `json:"nonce"`
	EnforceNonce    bool            `json:"enforce_nonce"`
}

type embedShape struct {
	Title       string `json:"title"`
	Description string `json:"description"`
	Fields      []struct {
		Name  string `json:"name"`
		Value string `json:"value"`
	} `json:"fields"`
	Footer *struct {
		Text string `json:"text"`
	} `json:"footer"`
}

type componentShape struct {
	Type       int              `json:"type"`
	Style      int              `json:"style"`
	Label      string           `json:"label"`
	CustomID   string           `json:"custom_id"`
	URL        string           `json:"url"`
	Components []componentShape `json:"components"`
}

type mentionsShape struct {
	Parse []string `json:"parse"`
	Users []string `json:"users"`
	Roles []string `json:"roles"`
}

func isNull(raw json.RawMessage) bool {
	s := strings.TrimSpace(string(raw))
	return s == "" || s == "null"
}

func runes(s string) int { return utf8.RuneCountInString(s) }

// checkMessage validates a message body the way Discord refuses it and
// returns the decoded embeds. create says the body creates a message (an
// empty one is refused; an edit may change one field only).
func checkMessage(p *messagePayload, files int, create bool) ([]embedShape, *apiError) {
	fe := formErrors{}
	if p.Content != nil && runes(*p.Content) > MaxContent {
		fe.add("content", "BASE_TYPE_MAX_LENGTH", fmt.Sprintf("Must be %d or fewer in length.", MaxContent))
	}
	var embeds []embedShape
	if !isNull(p.Embeds) {
		if err := json.Unmarshal(p.Embeds, &embeds); err != nil {
			fe.add("embeds", "LIST_TYPE_CONVERT", "Only iterables may be used in a ListType")
		}
		if len(embeds) > MaxEmbeds {
			fe.add("embeds", "BASE_TYPE_MAX_LENGTH", fmt.Sprintf("Must be %d or fewer in length.", MaxEmbeds))
		}
		total := 0
		for i, e := range embeds {
			if runes(e.Title) > MaxEmbedTitle {
				fe.add(fmt.Sprintf("embeds.%d.title", i), "BASE_TYPE_MAX_LENGTH", fmt.Sprintf("Must be %d or fewer in length.", MaxEmbedTitle))
			}
			if runes(e.Description) > MaxEmbedDescription {
				fe.add(fmt.Sprintf("embeds.%d.description", i), "BASE_TYPE_MAX_LENGTH", fmt.Sprintf("Must be %d or fewer in length.", MaxEmbedDescription))
			}
			total += runes(e.Title) + runes(e.Description)
			for _, f := range e.Fields {
				total += runes(f.Name) + runes(f.Value)
			}
			if e.Footer != nil {
				total += runes(e.Footer.Text)
			}
		}
		if total > MaxEmbedTotal {
			fe.add("embeds", "MESSAGE_EMBEDS_LENGTH_EXCEEDED", fmt.Sprintf("Embed size exceeds maximum size of %d", MaxEmbedTotal))
		}
	}
	rows := 0
	if !isNull(p.Components) {
		rows = checkComponents(p.Components, fe)
	}
	if !isNull(p.AllowedMentions) {
		var am mentionsShape
		if err := json.Unmarshal(p.AllowedMentions, &am); err != nil {
			fe.add("allowed_mentions", "MODEL_TYPE_CONVERT", "Only dictionaries may be used in a ModelType")
		} else {
			for i, v := range am.Parse {
				if v != "users" && v != "roles" && v != "everyone" {
					fe.add(fmt.Sprintf("allowed_mentions.parse.%d", i), "BASE_TYPE_CHOICES", "Value must be one of {'users', 'roles', 'everyone'}.")
				}
			}
			if slices.Contains(am.Parse, "users") && len(am.Users) > 0 {
				fe.add("allowed_mentions", "MESSAGE_ALLOWED_MENTIONS_PARSE_EXCLUSIVE", `parse:["users"] and users: [ids...] are mutually exclusive.`)
			}
			if slices.Contains(am.Parse, "roles") && len(am.Roles) > 0 {
				fe.add("allowed_mentions", "MESSAGE_ALLOWED_MENTIONS_PARSE_EXCLUSIVE", `parse:["roles"] and roles: [ids...] are mutually exclusive.`)
			}
		}
	}
	if !isNull(p.Nonce) {
		var n any
		_ = json.Unmarshal(p.Nonce, &n)
		if s, ok := n.(string); ok && runes(s) > MaxNonce {
			fe.add("nonce", "BASE_TYPE_MAX_LENGTH", fmt.Sprintf("Must be %d or fewer in length.", MaxNonce))
		}
	}
	if err := fe.err(); err != nil {
		return nil, err
	}
	if create && (p.Content == nil || *p.Content == "") && len(embeds) == 0 && rows == 0 && files == 0 {
		return nil, errBadRequest(50006, "Cannot send an empty message")
	}
	return embeds, nil
}

// checkComponents validates action rows and their buttons and returns how
// many rows there are.
func checkComponents(raw json.RawMessage, fe formErrors) int {
	var rows []componentShape
	if err := json.Unmarshal(raw, &rows); err != nil {
		fe.add("components", "LIST_TYPE_CONVERT", "Only iterables may be used in a ListType")
		return 0
	}
	if len(rows) > MaxRows {
		fe.add("components", "BASE_TYPE_MAX_LENGTH", fmt.Sprintf("Must be %d or fewer in length.", MaxRows))
	}
	seen := map[string]bool{}
	for i, row := range rows {
		at := fmt.Sprintf("components.%d", i)
		if row.Type != 1 {
			fe.add(at+".type", "UNION_TYPE_CHOICES", "Value of field \"type\" must be one of (1,).")
			continue
		}
		if len(row.Components) == 0 || len(row.Components) > MaxRowComponents {
			fe.add(at+".components", "BASE_TYPE_BAD_LENGTH", fmt.Sprintf("Must be between 1 and %d in length.", MaxRowComponents))
		}
		for j, c := range row.Components {
			cat := fmt.Sprintf("%s.components.%d", at, j)
			if c.Type != 2 {
				continue // selects and the like: not checked
			}
			if runes(c.Label) > MaxButtonLabel {
				fe.add(cat+".label", "BASE_TYPE_MAX_LENGTH", fmt.Sprintf("Must be %d or fewer in length.", MaxButtonLabel))
			}
			switch {
			case c.Style == 5:
				if c.URL == "" {
					fe.add(cat+".url", "BASE_TYPE_REQUIRED", "This field is required")
				}
				if c.CustomID != "" {
					fe.add(cat+".custom_id", "BUTTON_COMPONENT_CUSTOM_ID_URL_MUTUALLY_EXCLUSIVE", "A custom id and url cannot both be specified")
				}
			case c.Style >= 1 && c.Style <= 4:
				switch {
				case c.CustomID == "":
					fe.add(cat+".custom_id", "BASE_TYPE_REQUIRED", "This field is required")
				case runes(c.CustomID) > MaxCustomID:
					fe.add(cat+".custom_id", "BASE_TYPE_MAX_LENGTH", fmt.Sprintf("Must be %d or fewer in length.", MaxCustomID))
				case seen[c.CustomID]:
					fe.add(cat+".custom_id", "COMPONENT_CUSTOM_ID_DUPLICATED", "Component custom id cannot be duplicated")
				}
				seen[c.CustomID] = true
			default:
				fe.add(cat+".style", "BASE_TYPE_CHOICES", "Value must be one of {1, 2, 3, 4, 5, 6}.")
			}
		}
	}
	return len(rows)
}

var (
	userMention = regexp.MustCompile(`<@!?(\d{17,20})>`)
	roleMention = regexp.MustCompile(`<@&(\d{17,20})>`)
	everyone    = regexp.MustCompile(`@(everyone|here)`)
)

// mentions returns who a message's content notifies given its
// allowed_mentions (absent: everything in the content is parsed, Discord's
// default).
func mentions(content string, allowed json.RawMessage) (users, roles []string, all bool) {
	parseAll := isNull(allowed)
	var am mentionsShape
	if !parseAll {
		_ = json.Unmarshal(allowed, &am)
	}
	for _, m := range userMention.FindAllStringSubmatch(content, -1) {
		if (parseAll || slices.Contains(am.Parse, "users") || slices.Contains(am.Users, m[1])) && !slices.Contains(users, m[1]) {
			users = append(users, m[1])
		}
	}
	for _, m := range roleMention.FindAllStringSubmatch(content, -1) {
		if (parseAll || slices.Contains(am.Parse, "roles") || slices.Contains(am.Roles, m[1])) && !slices.Contains(roles, m[1]) {
			roles = append(roles, m[1])
		}
	}
	all = everyone.MatchString(content) && (parseAll || slices.Contains(am.Parse, "everyone"))
	return users, roles, all
}

// commandShape is an application command or one of its options.
type commandShape struct {
	Name        string         `json:"name"`
	Description string         `json:"description"`
	Type        int            `json:"type"`
	Options     []commandShape `json:"options"`
	Choices     []struct {
		Name string `json:"name"`
	} `json:"choices"`
}

// validName is Discord's rule for command and option names: 1–32
// characters of letters, digits, '-' and '_', lowercase where a letter has
// a lowercase form.
func validName(name string) bool {
	n := runes(name)
	if n < 1 || n > MaxCommandName {
		return false
	}
	for _, r := range name {
		if !(unicode.IsLetter(r) || unicode.IsDigit(r) || r == '-' || r == '_') || unicode.ToLower(r) != r {
			return false
		}
	}
	return true
}

// checkCommands validates a bulk overwrite the way Discord refuses one.
func checkCommands(cmds []commandShape) *apiError {
	fe := formErrors{}
	if len(cmds) > 100 {
		fe.add("_root", "BASE_TYPE_MAX_LENGTH", "Must be 100 or fewer in length.")
	}
	names := map[string]bool{}
	for i, c := range cmds {
		at := fmt.Sprint(i)
		if names[c.Name] {
			fe.add(at+".name", "APPLICATION_COMMANDS_DUPLICATE_NAME", "Application command names must be unique")
		}
		names[c.Name] = true
		checkCommand(c, at, c.Type == 0 || c.Type == 1, fe)
	}
	return fe.err()
}

func checkCommand(c commandShape, at string, chatInput bool, fe formErrors) {
	if !validName(c.Name) {
		fe.add(at+".name", "APPLICATION_COMMAND_INVALID_NAME", "Command name is invalid")
	}
	if chatInput {
		if n := runes(c.Description); n < 1 || n > MaxCommandDesc {
			fe.add(at+".description", "BASE_TYPE_BAD_LENGTH", fmt.Sprintf("Must be between 1 and %d in length.", MaxCommandDesc))
		}
	}
	if len(c.Options) > MaxCommandOptions {
		fe.add(at+".options", "BASE_TYPE_MAX_LENGTH", fmt.Sprintf("Must be %d or fewer in length.", MaxCommandOptions))
	}
	if len(c.Choices) > 25 {
		fe.add(at+".choices", "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length.")
	}
	seen := map[string]bool{}
	for j, o := range c.Options {
		oat := fmt.Sprintf("%s.options.%d", at, j)
		if o.Type < 1 || o.Type > 11 {
			fe.add(oat+".type", "BASE_TYPE_CHOICES", "Value must be one of {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}.")
		}
		if seen[o.Name] {
			fe.add(oat+".name", "APPLICATION_COMMAND_OPTIONS_NAME_ALREADY_EXISTS", "Option names must be unique")
		}
		seen[o.Name] = true
		checkCommand(o, oat, true, fe)
	}
}

// channelName is Discord's normalisation of a text channel's name: lowercase,
// spaces as '-'.
func channelName(name string) string {
	return strings.ReplaceAll(strings.ToLower(strings.TrimSpace(name)), " ", "-")
}
