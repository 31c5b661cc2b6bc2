package relay

import (
	"errors"
	"fmt"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The io_uring kernel ABI (include/uapi/linux/io_uring.h), what the data
// plane uses of it. golang.org/x/sys/unix has the system call numbers only.
const (
	ioringOffSQRing = 0
	ioringOffCQRing = 0x8000000
	ioringOffSQEs   = 0x10000000

	ioringSetupCQSize       = 1 << 3
	ioringSetupSubmitAll    = 1 << 7
	ioringSetupCoopTaskrun  = 1 << 8
	ioringSetupTaskrunFlag  = 1 << 9
	ioringSetupSingleIssuer = 1 << 12
	ioringSetupDeferTaskrun = 1 << 13

	ioringFeatSingleMmap = 1 << 0

	ioringEnterGetEvents = 1 << 0

	ioringRegisterPbufRing   = 22
	ioringUnregisterPbufRing = 23

	ioringOpRecvmsg     = 10
	ioringOpTimeout     = 11
	ioringOpAsyncCancel = 14
	ioringOpRead        = 22
	ioringOpSend        = 26

	iosqeBufferSelect = 1 << 5

	ioringRecvMultishot  = 1 << 1 // in sqe.ioprio
	ioringAsyncCancelAll = 1 << 0
	ioringAsyncCancelAny = 1 << 2

	ioringCQEFBuffer     = 1 << 0
	ioringCQEFMore       = 1 << 1
	ioringCQEBufferShift = 16
)

// uringParams is struct io_uring_params.
type uringParams struct {
	sqEntries, cqEntries, flags, sqThreadCPU, sqThreadIdle, features, wqFd uint32
	resv                                                                   [3]uint32
	sqOff                                                                  uringSQOffsets
	cqOff                                                                  uringCQOffsets
}

// uringSQOffsets is struct io_sqring_offsets.
type uringSQOffsets struct {
	head, tail, ringMask, ringEntries, flags, dropped, array, resv1 uint32
	userAddr                                                        uint64
}

// uringCQOffsets is struct io_cqring_offsets.
type uringCQOffsets struct {
	head, tail, ringMask, ringEntries, overflow, cqes, flags, resv1 uint32
	userAddr                                                        uint64
}

// uringSQE is struct io_uring_sqe (64 bytes), with the union members the
// plane uses named for their use.
type uringSQE struct {
	opcode   uint8
	flags    uint8
	ioprio   uint16
	fd       int32
	off      uint64 // also addr2: the destination address of a send
	addr     uint64
	len      uint32
	opFlags  uint32 // msg_flags, cancel_flags, timeout_flags
	userData uint64
	bufGroup uint16
	_        uint16 // personality
	addrLen  uint16 // of addr2
	_        uint16
	_        [2]uint64
}

// uringCQE is struct io_uring_cqe (16 bytes; no CQE32).
type uringCQE struct {
	userData uint64
	res      int32
	flags    uint32
}

// uringBuf is struct io_uring_buf, an entry of a provided-buffer ring. The
// ring's tail overlays the resv field of entry 0, so entries are written
// field by field, never as a whole.
type uringBuf struct {
	addr uint64
	len  uint32
	bid  uint16
	resv uint16
}

// uringBufReg is struct io_uring_buf_reg.
type uringBufReg struct {
	ringAddr    uint64
	ringEntries uint32
	bgid        uint16
	flags       uint16
	resv        [3]uint64
}

// uringRecvmsgOut is struct io_uring_recvmsg_out, the header the kernel
// writes at the start of each buffer a multishot recvmsg fills.
type uringRecvmsgOut struct {
	namelen, controllen, payloadlen, flags uint32
}

// Compile-time checks of the ABI sizes.
var (
	_ [120 - unsafe.Sizeof(uringParams{})]struct{}
	_ [unsafe.Sizeof(uringParams{}) - 120]struct{}
	_ [64 - unsafe.Sizeof(uringSQE{})]struct{}
	_ [unsafe.Sizeof(uringSQE{}) - 64]struct{}
	_ [16 - unsafe.Sizeof(uringCQE{})]struct{}
	_ [16 - unsafe.Sizeof(uringBuf{})]struct{}
	_ [40 - unsafe.Sizeof(uringBufReg{})]struct{}
)

// uring is one io_uring instance: its rings mmap'd from the kernel. It is
// used by one thread only (IORING_SETUP_SINGLE_ISSUER), the one that
// created it.
//
// Memory shared with the kernel: the SQ/CQ rings and the SQE array are
// mappings of the ring's file, owned by the kernel and unmapped only in
// close, after the ring's requests have all completed. Go memory is handed
// to the kernel only for the duration of a system call (the setup
// parameters, a buffer ring registration).
type uring struct {
	fd        int
	ringMem   []byte // SQ and CQ rings (one mapping with IORING_FEAT_SINGLE_MMAP)
	cqMem     []byte // CQ ring when not shared with the SQ ring
	sqeMem    []byte
	flagsUsed uint32 // setup flags the kernel accepted

	sqHead, sqTail *uint32 // kernel's head, our published tail
	sqMask         uint32
	sqEntries      uint32
	sqes           []uringSQE
	tail           uint32 // next SQE to fill; published to *sqTail before entering

	cqHead, cqTail *uint32
	cqMask         uint32
	cqes           []uringCQE
}

// newURing creates an io_uring with sq submission entries and cq
// completion entries, preferring the setup flags that suit one thread that
// both submits and reaps: SINGLE_ISSUER and DEFER_TASKRUN (completion work
// runs only when the thread waits for completions), falling back to
// COOP_TASKRUN, then to none, on kernels that refuse them.
func newURing(sq, cq uint32) (*uring, error) {
	var p uringParams
	var fd uintptr
	var errno unix.Errno
	base := uint32(ioringSetupCQSize | ioringSetupSubmitAll)
	for _, extra := range []uint32{
		ioringSetupSingleIssuer | ioringSetupDeferTaskrun,
		ioringSetupCoopTaskrun | ioringSetupTaskrunFlag,
		0,
	} {
		p = uringParams{flags: base | extra, cqEntries: cq}
		fd, _, errno = unix.RawSyscall(unix.SYS_IO_URING_SETUP, uintptr(sq), uintptr(unsafe.Pointer(&p)), 0)
		if errno != unix.EINVAL {
			break
		}
	}
	if errno != 0 {
		return nil, fmt.Errorf("io_uring_setup: %w", errno)
	}
	r := &uring{fd: int(fd), flagsUsed: p.flags}
	fail := func(what string, err error) (*uring, error) {
		r.close()
		return nil, fmt.Errorf("io_uring %s: %w", what, err)
	}
	sqSize := int(p.sqOff.array + p.sqEntries*4)
	cqSize := int(p.cqOff.cqes + p.cqEntries*uint32(unsafe.Sizeof(uringCQE{})))
	single := p.features&ioringFeatSingleMmap != 0
	if single {
		sqSize = max(sqSize, cqSize)
	}
	var err error
	r.ringMem, err = unix.Mmap(r.fd, ioringOffSQRing, sqSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE)
	if err != nil {
		return fail("mmap SQ ring", err)
	}
	cqMem := r.ringMem
	if !single {
		r.cqMem, err = unix.Mmap(r.fd, ioringOffCQRing, cqSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE)
		if err != nil {
			return fail("mmap CQ ring", err)
		}
		cqMem = r.cqMem
	}
	r.sqeMem, err = unix.Mmap(r.fd, ioringOffSQEs, int(p.sqEntries)*int(unsafe.Sizeof(uringSQE{})), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE)
	if err != nil {
		return fail("mmap SQEs", err)
	}
	u32 := func(mem []byte, off uint32) *uint32 { return (*uint32)(unsafe.Pointer(&mem[off])) }
	r.sqHead = u32(r.ringMem, p.sqOff.head)
	r.sqTail = u32(r.ringMem, p.sqOff.tail)
	r.sqMask = *u32(r.ringMem, p.sqOff.ringMask)
	r.sqEntries = *u32(r.ringMem, p.sqOff.ringEntries)
	r.sqes = unsafe.Slice((*uringSQE)(unsafe.Pointer(&r.sqeMem[0])), p.sqEntries)
	// The SQ index array maps ring positions to SQEs: identity, once.
	array := unsafe.Slice(u32(r.ringMem, p.sqOff.array), p.sqEntries)
	for i := range array {
		array[i] = uint32(i)
	}
	r.tail = atomic.LoadUint32(r.sqTail)
	r.cqHead = u32(cqMem, p.cqOff.head)
	r.cqTail = u32(cqMem, p.cqOff.tail)
	r.cqMask = *u32(cqMem, p.cqOff.ringMask)
	r.cqes = unsafe.Slice((*uringCQE)(unsafe.Pointer(&cqMem[p.cqOff.cqes])), p.cqEntries)
	return r, nil
}

// close unmaps the rings and closes the ring. The kernel tears the ring
// down asynchronously: callers make sure no request is pending first when
// memory of theirs is still registered.
func (r *uring) close() {
	for _, m := range [][]byte{r.sqeMem, r.cqMem, r.ringMem} {
		if m != nil {
			unix.Munmap(m)
		}
	}
	r.sqeMem, r.cqMem, r.ringMem, r.sqes, r.cqes = nil, nil, nil, nil, nil
	if r.fd >= 0 {
		unix.Close(r.fd)
		r.fd = -1
	}
}

// pending is the number of SQEs filled but not yet consumed by the kernel.
func (r *uring) pending() uint32 { return r.tail - atomic.LoadUint32(r.sqHead) }

// sqe returns the next free SQE, or nil when the submission queue is full
// even after submitting what it holds. The caller fills it completely.
func (r *uring) sqe() *uringSQE {
	if r.pending() >= r.sqEntries {
		r.submit()
		if r.pending() >= r.sqEntries {
			return nil
		}
	}
	e := &r.sqes[r.tail&r.sqMask]
	r.tail++
	return e
}

// submit hands the queued SQEs to the kernel without waiting. Sends on
// sockets are executed inline, so this does not block.
func (r *uring) submit() {
	atomic.StoreUint32(r.sqTail, r.tail)
	if n := r.pending(); n > 0 {
		unix.RawSyscall6(unix.SYS_IO_URING_ENTER, uintptr(r.fd), uintptr(n), 0, 0, 0, 0)
	}
}

// enter submits the queued SQEs and, with wait, blocks until at least one
// completion is available. The blocking form goes through the scheduler
// (Syscall6), so the thread's P is handed off while it sleeps.
func (r *uring) enter(wait bool) error {
	atomic.StoreUint32(r.sqTail, r.tail)
	for {
		n := r.pending()
		var errno unix.Errno
		if wait {
			_, _, errno = unix.Syscall6(unix.SYS_IO_URING_ENTER, uintptr(r.fd), uintptr(n), 1, ioringEnterGetEvents, 0, 0)
		} else {
			_, _, errno = unix.RawSyscall6(unix.SYS_IO_URING_ENTER, uintptr(r.fd), uintptr(n), 0, ioringEnterGetEvents, 0, 0)
		}
		switch errno {
		case 0:
			return nil
		case unix.EINTR:
			if r.cqReady() > 0 {
				return nil
			}
			continue
		case unix.EAGAIN, unix.EBUSY:
			// Out of request memory or completions backed up: reap
			// first, submit again on the next round.
			return nil
		}
		return errno
	}
}

// cqReady is the number of completions waiting in the CQ ring.
func (r *uring) cqReady() uint32 { return atomic.LoadUint32(r.cqTail) - *r.cqHead }

// register is io_uring_register.
func (r *uring) register(op uintptr, arg unsafe.Pointer, n uintptr) error {
	_, _, errno := unix.RawSyscall6(unix.SYS_IO_URING_REGISTER, uintptr(r.fd), op, uintptr(arg), n, 0, 0)
	if errno != 0 {
		return errno
	}
	return nil
}

// errURingDrain reports a ring whose requests did not all complete at
// shutdown: its buffer memory is then left mapped rather than risk the
// kernel writing to memory reused for something else.
var errURingDrain = errors.New("io_uring: requests still pending at shutdown")
