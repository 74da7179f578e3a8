package logs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// KmsgSource is the source name of the kernel log.
const KmsgSource = "kmsg"

// kmsgRecord is one /dev/kmsg record: "pri,seq,usec,flags;text".
type kmsgRecord struct {
	pri  int    // facility<<3 | level
	seq  uint64 // sequence number
	usec int64  // microseconds since boot
	text string
}

// parseKmsg parses one line of /dev/kmsg output. Dictionary lines (" KEY=value", which follow
// their record) and lines without a valid header return ok false.
func parseKmsg(line string) (rec kmsgRecord, ok bool) {
	if line == "" || line[0] == ' ' {
		return rec, false
	}
	header, text, found := strings.Cut(line, ";")
	fields := strings.Split(header, ",") // pri, seq, usec, flags and maybe more
	if !found || len(fields) < 3 {
		return rec, false
	}
	var err error
	if rec.pri, err = strconv.Atoi(fields[0]); err != nil {
		return rec, false
	}
	if rec.seq, err = strconv.ParseUint(fields[1], 10, 64); err != nil {
		return rec, false
	}
	if rec.usec, err = strconv.ParseInt(fields[2], 10, 64); err != nil {
		return rec, false
	}
	rec.text = text
	return rec, true
}

// format is the logged form of a record: the kernel's time since boot, as dmesg prints it,
// then the text ("[    1.234567] text"), since records read at boot all carry PID 1's time.
func (r kmsgRecord) format() string {
	return fmt.Sprintf("[%5d.%06d] %s", r.usec/1e6, r.usec%1e6, r.text)
}

// CollectKmsg reads kernel log records from path (normally /dev/kmsg, which replays the records
// since boot and then waits for new ones) and writes them as source "kmsg". It returns nil when
// ctx ends or the file ends (a plain file, in tests). Records overwritten before they were read
// (EPIPE) are skipped. Lines that are not records are written as they are.
func (m *Manager) CollectKmsg(ctx context.Context, path string) error {
	// os.Open puts a character device such as /dev/kmsg in non-blocking mode under the runtime
	// poller, so that closing it ends a pending Read.
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("collect kernel log: %w", err)
	}
	stop := context.AfterFunc(ctx, func() { f.Close() }) // unblocks a pending Read (f is polled)
	defer func() {
		if stop() {
			f.Close()
		}
	}()
	w := m.Writer(KmsgSource, false)
	defer w.Close()

	// /dev/kmsg returns one whole record per read and fails if the buffer is too small for it,
	// so read into a fixed buffer big enough for any record and keep any incomplete tail.
	buf := make([]byte, 16<<10)
	var pending []byte
	for {
		n, err := f.Read(buf)
		pending = append(pending, buf[:n]...)
		for {
			i := bytes.IndexByte(pending, '\n')
			if i < 0 {
				break
			}
			m.writeKmsgLine(w, string(pending[:i]))
			pending = pending[i+1:]
		}
		pending = append([]byte(nil), pending...)
		switch {
		case err == nil:
		case errors.Is(err, syscall.EPIPE):
			// Records were overwritten in the kernel's buffer; go on with the next ones.
		case errors.Is(err, io.EOF):
			if len(pending) > 0 {
				m.writeKmsgLine(w, string(pending))
			}
			return nil
		case ctx.Err() != nil:
			return nil
		default:
			return fmt.Errorf("collect kernel log: read %s: %w", path, err)
		}
	}
}

func (m *Manager) writeKmsgLine(w io.Writer, line string) {
	if line == "" || line[0] == ' ' {
		return // dictionary entry of the previous record
	}
	text := line
	if rec, ok := parseKmsg(line); ok {
		text = rec.format()
	}
	w.Write([]byte(text + "\n"))
}
