package telegram

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"mime"
	"net/http"
	"net/url"
	"path"
	"strings"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"hotline/envelope"
)

// MaxFileBytes is the largest file the Bot API hands to a bot
// (https://core.telegram.org/bots/api#getfile).
const MaxFileBytes = 20 << 20

// FetchMedia downloads what a user sent, by its file_id: getFile for the
// file's path, then the file itself from
// <api>/file/bot<token>/<file_path>. That URL holds the bot token, so it
// never leaves this function: not in an error, not in a log line.
//
// Errors follow media.Fetcher: fs.ErrInvalid for a reference without a
// file_id, fs.ErrNotExist when Telegram does not know the file (or the
// path it gave expired, after an hour), *http.MaxBytesError when
// Telegram refuses a file over 20 MB.
func (a *Adapter) FetchMedia(ctx context.Context, m envelope.Media) (io.ReadCloser, string, error) {
	if m.PlatformID == "" {
		return nil, "", fmt.Errorf("telegram: media has no file_id: %w", fs.ErrInvalid)
	}
	res, err := a.call(ctx, a.http, "getFile", tgbotapi.Params{"file_id": m.PlatformID})
	if err != nil {
		var ae *apiError
		if errors.As(err, &ae) && ae.Status == http.StatusBadRequest {
			// Telegram says why only in the description: "file is too
			// big", "invalid file_id", "wrong file_id or the file is
			// temporarily unavailable".
			if strings.Contains(strings.ToLower(ae.Description), "too big") {
				return nil, "", fmt.Errorf("%w: %w", ae, &http.MaxBytesError{Limit: MaxFileBytes})
			}
			return nil, "", fmt.Errorf("%w: %w", ae, fs.ErrNotExist)
		}
		if ae != nil {
			return nil, "", ae
		}
		return nil, "", err
	}
	var file struct {
		FilePath string `json:"file_path"`
		FileSize int64  `json:"file_size"`
	}
	if err := json.Unmarshal(res, &file); err != nil || file.FilePath == "" {
		return nil, "", errors.New("telegram: getFile: no file_path in the answer")
	}
	if file.FileSize > MaxFileBytes {
		return nil, "", fmt.Errorf("telegram: getFile: %d bytes: %w", file.FileSize, &http.MaxBytesError{Limit: MaxFileBytes})
	}
	u, err := a.fileURL(file.FilePath)
	if err != nil {
		return nil, "", err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, "", fmt.Errorf("telegram: file download: %w", a.redact(err))
	}
	// The poll client has no overall timeout: a 20 MB file may take
	// longer than a send may, and the caller's context bounds it.
	resp, err := a.poll.Do(req)
	if err != nil {
		return nil, "", fmt.Errorf("telegram: file download: %w", a.redact(err))
	}
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
		resp.Body.Close()
		err := fmt.Errorf("telegram: file download: HTTP %d", resp.StatusCode)
		if resp.StatusCode == http.StatusNotFound {
			return nil, "", fmt.Errorf("%w: %w", err, fs.ErrNotExist)
		}
		return nil, "", err
	}
	// The file server says application/octet-stream for most files;
	// the path's extension (photos/file_3.jpg, voice/file_7.oga) says
	// more, and the endpoint sniffs the bytes either way.
	ctype := resp.Header.Get("Content-Type")
	if ctype == "" || strings.HasPrefix(ctype, "application/octet-stream") {
		ext := strings.ToLower(path.Ext(file.FilePath))
		if byExt := telegramTypes[ext]; byExt != "" {
			ctype = byExt
		} else if byExt := mime.TypeByExtension(ext); byExt != "" {
			ctype = byExt
		}
	}
	return resp.Body, ctype, nil
}

// telegramTypes are the extensions Telegram gives voice notes, stickers
// and video notes, which not every system's MIME table knows.
var telegramTypes = map[string]string{
	".oga": "audio/ogg", ".ogg": "audio/ogg", ".opus": "audio/ogg", ".mp3": "audio/mpeg", ".m4a": "audio/mp4",
	".mp4": "video/mp4", ".webm": "video/webm", ".webp": "image/webp", ".jpg": "image/jpeg", ".png": "image/png",
}

// fileURL is the download URL of a file_path; each segment is escaped,
// and a path that tries to leave the bot's file directory is refused.
func (a *Adapter) fileURL(filePath string) (string, error) {
	segs := strings.Split(filePath, "/")
	for i, s := range segs {
		if s == "" || s == "." || s == ".." {
			return "", errors.New("telegram: getFile: malformed file_path")
		}
		segs[i] = url.PathEscape(s)
	}
	return a.cfg.APIBase + "/file/bot" + a.cfg.Token.Reveal() + "/" + strings.Join(segs, "/"), nil
}
