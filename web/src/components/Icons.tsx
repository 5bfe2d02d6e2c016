// Inline icons (no icon font, no emoji: the page looks the same on a machine without them).

const props = { width: 15, height: 15, viewBox: '0 0 24 24', fill: 'none', stroke: 'currentColor', 'stroke-width': 2, 'stroke-linecap': 'round', 'stroke-linejoin': 'round', 'aria-hidden': true } as const;

export const FolderIcon = () => (
  <svg {...props} class="icon folder">
    <path d="M3 7a2 2 0 0 1 2-2h4l2 2h8a2 2 0 0 1 2 2v8a2 2 0 0 1-2 2H5a2 2 0 0 1-2-2z" />
  </svg>
);
export const FileIcon = () => (
  <svg {...props} class="icon file">
    <path d="M14 3H7a2 2 0 0 0-2 2v14a2 2 0 0 0 2 2h10a2 2 0 0 0 2-2V8z" />
    <path d="M14 3v5h5" />
  </svg>
);
export const DownloadIcon = () => (
  <svg {...props} class="icon">
    <path d="M12 4v11M7 10l5 5 5-5M5 20h14" />
  </svg>
);
export const TrashIcon = () => (
  <svg {...props} class="icon">
    <path d="M4 7h16M9 7V4h6v3M6 7l1 13h10l1-13" />
  </svg>
);
