package fallback

// Effective is what is in force for one platform account: for each mode
// the most specific setting (account over platform over global), nil when
// the mode is off. Modes combine: read_only and announcement may both be on.
type Effective struct {
	ReadOnly     *Setting
	RateLimited  *Setting
	ReviewFirst  *Setting
	SMSFallback  *Setting
	Announcement *Setting
}

// Get returns the setting of mode, or nil when it is off or unknown.
func (e Effective) Get(mode string) *Setting {
	if p := e.slot(mode); p != nil {
		return *p
	}
	return nil
}

// On reports whether mode is in force.
func (e Effective) On(mode string) bool { return e.Get(mode) != nil }

// Any reports whether any mode is in force.
func (e Effective) Any() bool {
	for _, m := range Modes() {
		if e.On(m) {
			return true
		}
	}
	return false
}

// Settings returns the settings in force in the order of Modes.
func (e Effective) Settings() []Setting {
	var out []Setting
	for _, m := range Modes() {
		if s := e.Get(m); s != nil {
			out = append(out, *s)
		}
	}
	return out
}

func (e *Effective) slot(mode string) **Setting {
	switch mode {
	case ModeReadOnly:
		return &e.ReadOnly
	case ModeRateLimited:
		return &e.RateLimited
	case ModeReviewFirst:
		return &e.ReviewFirst
	case ModeSMSFallback:
		return &e.SMSFallback
	case ModeAnnouncement:
		return &e.Announcement
	}
	return nil
}
