package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"syscall"

	"golang.org/x/sys/unix"
)

// Failure is an operation error whose errno name is known without a
// syscall.Errno in the chain (e.g. a timeout reported as ETIMEDOUT).
type Failure struct {
	Errno string
	Err   error
}

func (f *Failure) Error() string { return f.Err.Error() }
func (f *Failure) Unwrap() error { return f.Err }

// Fail wraps err with an explicit errno name.
func Fail(errno string, err error) error { return &Failure{Errno: errno, Err: err} }

// ErrnoName is the symbolic name ("ENOENT") of the errno behind err, or "".
func ErrnoName(err error) string {
	var f *Failure
	if errors.As(err, &f) && f.Errno != "" {
		return f.Errno
	}
	var errno syscall.Errno
	if errors.As(err, &errno) {
		if name := unix.ErrnoName(errno); name != "" {
			return name
		}
		return fmt.Sprintf("errno %d", int(errno))
	}
	return ""
}

// encodeResult renders result as one JSON line. err, if set, is added as
// "error" and "errno" after the result's own fields.
func encodeResult(result any, err error) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if result == nil {
		result = struct{}{}
	}
	if encErr := enc.Encode(result); encErr != nil {
		return nil, encErr
	}
	line := bytes.TrimSpace(buf.Bytes())
	if len(line) < 2 || line[0] != '{' {
		return nil, fmt.Errorf("result is not a JSON object: %s", line)
	}
	if err == nil {
		return append(line, '\n'), nil
	}
	extra, encErr := marshalNoEscape(struct {
		Error string `json:"error"`
		Errno string `json:"errno"`
	}{err.Error(), ErrnoName(err)})
	if encErr != nil {
		return nil, encErr
	}
	out := append([]byte{}, line[:len(line)-1]...) // drop the closing brace
	if len(line) > 2 {
		out = append(out, ',')
	}
	out = append(out, extra[1:]...) // the extra fields, with their closing brace
	return append(out, '\n'), nil
}

func marshalNoEscape(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSpace(buf.Bytes()), nil
}
