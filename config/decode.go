package config

import (
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/go-viper/mapstructure/v2"
)

// decodeOnto decodes in onto out (a pointer) as viper's Unmarshal
// would — durations and comma-separated lists from strings, weakly
// typed — but goes on past bad values: mapstructure decodes every field
// it can and returns an error for each one it cannot. It returns those
// keys (relative to in; their fields keep what out held) and one error
// per key, with prefix, naming the value.
func decodeOnto(in map[string]any, out any, prefix string) (map[string]bool, []error) {
	dec, err := mapstructure.NewDecoder(&mapstructure.DecoderConfig{
		DecodeHook: mapstructure.ComposeDecodeHookFunc(
			mapstructure.StringToTimeDurationHookFunc(), mapstructure.StringToSliceHookFunc(",")),
		WeaklyTypedInput: true,
		Result:           out,
	})
	if err != nil {
		return nil, []error{fmt.Errorf("%s: %w", strings.TrimSuffix(prefix, "."), err)}
	}
	bad := map[string]bool{}
	var errs []error
	for _, f := range failures(dec.Decode(in)) {
		if f.key != "" { // "" is the input as a whole, not a field to reset
			bad[f.key] = true
		}
		errs = append(errs, badValue(prefix+f.key, in, f, reflect.TypeOf(out)))
	}
	return bad, errs
}

// failure is a field mapstructure could not decode, by its key.
type failure struct {
	key string
	err error
}

// failures lists the fields mapstructure could not decode: its error
// joins one *DecodeError per field, below a wrapping when there are
// several.
func failures(err error) []failure {
	switch e := err.(type) {
	case nil:
		return nil
	case *mapstructure.DecodeError:
		if _, joined := e.Unwrap().(interface{ Unwrap() []error }); !joined {
			return []failure{{e.Name(), e.Unwrap()}}
		}
		return failures(e.Unwrap())
	case interface{ Unwrap() []error }:
		var out []failure
		for _, x := range e.Unwrap() {
			out = append(out, failures(x)...)
		}
		return out
	case interface{ Unwrap() error }:
		return failures(e.Unwrap())
	}
	return []failure{{"", err}} // not about a field: the input as a whole
}

// badValue says what is wrong with the value of one field, quoting it
// when it is a single value (a field of the wrong type is never a
// secret: secrets are strings, and every single value makes a string).
func badValue(key string, in map[string]any, f failure, out reflect.Type) error {
	val, _ := valueAt(in, f.key)
	t := typeAt(out, f.key)
	if t == nil || val == nil || f.key == "" {
		return fmt.Errorf("%s: %w", strings.TrimSuffix(key, "."), f.err)
	}
	want := typeName(t)
	switch val.(type) {
	case map[string]any, map[any]any:
		return fmt.Errorf("%s: must be %s, not a map", key, want)
	case []any:
		return fmt.Errorf("%s: must be %s, not a list", key, want)
	}
	return fmt.Errorf("%s: %q is not %s", key, fmt.Sprint(val), want)
}

// typeName says what a value of t is, for people.
func typeName(t reflect.Type) string {
	if t == durationType {
		return "a duration (e.g. 30s, 5m)"
	}
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return "a whole number"
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number of 0 or more"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Bool:
		return "true or false"
	case reflect.String:
		return "text"
	case reflect.Slice, reflect.Array:
		return "a list"
	case reflect.Map:
		return "a map"
	}
	return "a map of settings"
}

// splitKey splits a key as mapstructure names fields into its parts:
// sms.verify_regions[0] is sms, verify_regions, [0].
func splitKey(key string) []string {
	var parts []string
	for _, dotted := range strings.Split(key, ".") {
		for dotted != "" {
			i := strings.Index(dotted[1:], "[") + 1
			if i == 0 {
				i = len(dotted)
			}
			parts = append(parts, dotted[:i])
			dotted = dotted[i:]
		}
	}
	return parts
}

// valueAt finds the value of key in decoded YAML, matching names in
// any case as mapstructure does.
func valueAt(in any, key string) (any, bool) {
	cur := in
	for _, part := range splitKey(key) {
		switch c := cur.(type) {
		case map[string]any:
			name := strings.Trim(part, "[]")
			k, ok := foldedKey(c, name)
			if !ok {
				return nil, false
			}
			cur = c[k]
		case []any:
			i, err := strconv.Atoi(strings.Trim(part, "[]"))
			if err != nil || i < 0 || i >= len(c) {
				return nil, false
			}
			cur = c[i]
		default:
			return nil, false
		}
	}
	return cur, true
}

func foldedKey(m map[string]any, name string) (string, bool) {
	if _, ok := m[name]; ok {
		return name, true
	}
	for k := range m {
		if strings.EqualFold(k, name) {
			return k, true
		}
	}
	return "", false
}

// typeAt is the type key decodes into below t; nil if none.
func typeAt(t reflect.Type, key string) reflect.Type {
	for _, part := range splitKey(key) {
		for t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		switch {
		case strings.HasPrefix(part, "[") && (t.Kind() == reflect.Slice || t.Kind() == reflect.Map):
			t = t.Elem()
		case t.Kind() == reflect.Struct:
			index, ok := fieldIndex(t, part)
			if !ok {
				return nil
			}
			t = t.FieldByIndex(index).Type
		default:
			return nil
		}
	}
	return t
}

// fieldAt is the struct field that holds key below v: for a list entry
// or a map entry (sms.verify_regions[0]), the whole list or map.
func fieldAt(v reflect.Value, key string) (reflect.Value, bool) {
	for _, part := range splitKey(key) {
		if strings.HasPrefix(part, "[") {
			break
		}
		if v.Kind() != reflect.Struct {
			return reflect.Value{}, false
		}
		index, ok := fieldIndex(v.Type(), part)
		if !ok {
			return reflect.Value{}, false
		}
		v = v.FieldByIndex(index)
	}
	return v, true
}

// fieldIndex finds the field of struct t that key decodes into, as
// mapstructure matches it: by tag or name in any case, looking into
// squashed structs.
func fieldIndex(t reflect.Type, key string) ([]int, bool) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, squash := fieldKey(f)
		switch {
		case !f.IsExported() || name == "-" || isRemain(f):
		case squash:
			if sub, ok := fieldIndex(f.Type, key); ok {
				return append([]int{i}, sub...), true
			}
		case strings.EqualFold(name, key):
			return []int{i}, true
		}
	}
	return nil, false
}

// isRemain reports the field that takes the keys no other field does.
func isRemain(f reflect.StructField) bool {
	_, opts, _ := strings.Cut(f.Tag.Get("mapstructure"), ",")
	return opts == "remain"
}

// keyNames are the keys of struct t, for suggestions.
func keyNames(t reflect.Type) []string {
	var names []string
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, squash := fieldKey(f)
		switch {
		case !f.IsExported() || name == "-" || isRemain(f):
		case squash:
			names = append(names, keyNames(f.Type)...)
		default:
			names = append(names, name)
		}
	}
	return names
}

// unknownKeys returns an error for every key of m, and of the maps in
// it that decode into structs, that no field of t takes. A struct with
// a ,remain field passes the keys it does not know on (to the
// platforms), so they are not unknown here.
func unknownKeys(t reflect.Type, m map[string]any, prefix string) []error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	remain := slices.ContainsFunc(reflect.VisibleFields(t), isRemain)
	var errs []error
	for _, k := range slices.Sorted(maps.Keys(m)) {
		index, ok := fieldIndex(t, k)
		if !ok {
			if !remain {
				errs = append(errs, unknownKey(prefix+k, k, keyNames(t)))
			}
			continue
		}
		ft := t.FieldByIndex(index).Type
		if sub, isMap := m[k].(map[string]any); isMap && ft.Kind() == reflect.Struct {
			errs = append(errs, unknownKeys(ft, sub, prefix+k+".")...)
		}
	}
	return errs
}

func unknownKey(key, name string, known []string) error {
	if guess := closest(name, known); guess != "" {
		return fmt.Errorf("%s: unknown key (did you mean %s?)", key, guess)
	}
	return fmt.Errorf("%s: unknown key", key)
}
