// Linux watchdog ioctl request numbers and flag bits (include/uapi/linux/watchdog.h).

// asm-generic/ioctl.h, used unchanged by x86-64 and arm64 (powerpc, mips, sparc and alpha differ):
// request = dir << 30 | size << 16 | type << 8 | nr, with 2 bits of direction (WRITE = 1,
// READ = 2), 14 bits of argument size, 8 bits of type and 8 of number. Computed with arithmetic
// rather than `<<` because JavaScript shifts are signed 32-bit and dir 2 << 30 would go negative.
const IOC_WRITE = 1;
const IOC_READ = 2;
const WATCHDOG_IOCTL_BASE = 'W'.charCodeAt(0);
const SIZEOF_INT = 4;
/** struct watchdog_info { __u32 options; __u32 firmware_version; __u8 identity[32]; } */
export const SIZEOF_WATCHDOG_INFO = 40;

function ioc(dir: number, nr: number, size: number): number {
  return dir * 2 ** 30 + size * 2 ** 16 + WATCHDOG_IOCTL_BASE * 2 ** 8 + nr;
}

/** _IOR('W', 0, struct watchdog_info) = 0x80285700 */
export const WDIOC_GETSUPPORT = ioc(IOC_READ, 0, SIZEOF_WATCHDOG_INFO);
/** _IOR('W', 2, int) = 0x80045702 */
export const WDIOC_GETBOOTSTATUS = ioc(IOC_READ, 2, SIZEOF_INT);
/** _IOR('W', 5, int) = 0x80045705 (declared _IOR in the kernel header although it reads nothing) */
export const WDIOC_KEEPALIVE = ioc(IOC_READ, 5, SIZEOF_INT);
/** _IOWR('W', 6, int) = 0xC0045706; the driver writes back the timeout it actually set. */
export const WDIOC_SETTIMEOUT = ioc(IOC_READ | IOC_WRITE, 6, SIZEOF_INT);
/** _IOR('W', 7, int) = 0x80045707 */
export const WDIOC_GETTIMEOUT = ioc(IOC_READ, 7, SIZEOF_INT);

/** Boot status / option bit: the last reboot was caused by the watchdog. */
export const WDIOF_CARDRESET = 0x20;
/** Option bit: WDIOC_SETTIMEOUT is supported. */
export const WDIOF_SETTIMEOUT = 0x80;
/** Option bit: closing only disarms after the magic 'V'. */
export const WDIOF_MAGICCLOSE = 0x100;
/** Option bit: WDIOC_KEEPALIVE is supported. */
export const WDIOF_KEEPALIVEPING = 0x8000;
