/** The SCIM resources the console's pages read, as far as they use them (a list page and its detail page share them). */
export interface User {
  id: string;
  userName: string;
  displayName?: string;
  name?: { formatted?: string; givenName?: string; familyName?: string };
  emails?: { value: string; primary?: boolean; type?: string }[];
  active?: boolean;
  groups?: { value: string; display?: string }[];
}

export interface Group {
  id: string;
  displayName: string;
  description?: string;
  members?: { value: string; type?: 'User' | 'Group'; display?: string }[];
}
