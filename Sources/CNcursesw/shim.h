#ifndef KMSDASH_CNCURSESW_SHIM_H
#define KMSDASH_CNCURSESW_SHIM_H
/* Wide-character API must be switched on before curses.h (SwiftPM drops pkg-config's -D flags). */
#define NCURSES_WIDECHAR 1
#include <locale.h>
#include <wchar.h>
#include <ncursesw/curses.h>
#include <ncursesw/term.h>
#include <sys/eventfd.h>

static inline WINDOW *tui_stdscr(void) { return stdscr; }
static inline WINDOW *tui_curscr(void) { return curscr; }
static inline int tui_lines(void) { return LINES; }
static inline int tui_cols(void) { return COLS; }
static inline int tui_colors(void) { return COLORS; }
static inline int tui_color_pairs(void) { return COLOR_PAIRS; }
static const attr_t TUI_A_NORMAL = A_NORMAL;
static const attr_t TUI_A_BOLD = A_BOLD;
static const attr_t TUI_A_DIM = A_DIM;
static const attr_t TUI_A_UNDERLINE = A_UNDERLINE;
static const attr_t TUI_A_REVERSE = A_REVERSE;
static const attr_t TUI_A_ITALIC = A_ITALIC;
/* Mouse: the buttons kmsdash asks for. Press and release of button 1 (with mouseinterval(0), so
   ncurses never waits for a possible second click), clicks and double-clicks for events that
   arrive in one read (ncurses merges those), and the wheel (buttons 4 and 5). No
   REPORT_MOUSE_POSITION: motion is never reported, so an idle dashboard stays at 0 wakeups. */
static const mmask_t TUI_BUTTON1_PRESSED = BUTTON1_PRESSED;
static const mmask_t TUI_BUTTON1_RELEASED = BUTTON1_RELEASED;
static const mmask_t TUI_BUTTON1_CLICKED = BUTTON1_CLICKED;
static const mmask_t TUI_BUTTON1_DOUBLE_CLICKED = BUTTON1_DOUBLE_CLICKED;
static const mmask_t TUI_BUTTON1_TRIPLE_CLICKED = BUTTON1_TRIPLE_CLICKED;
static const mmask_t TUI_BUTTON3_PRESSED = BUTTON3_PRESSED;
static const mmask_t TUI_BUTTON4_PRESSED = BUTTON4_PRESSED;
static const mmask_t TUI_BUTTON5_PRESSED = BUTTON5_PRESSED;
static const mmask_t TUI_REPORT_MOUSE_POSITION = REPORT_MOUSE_POSITION;
#endif
